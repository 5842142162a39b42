/* SQuAD answer normalisation exactly as the official evaluation script does
 * it (normalize_answer in evaluate-v2.0.py), which runs on Python 3 strings:
 *
 *   1. str.lower()        Unicode lower-casing with Python's full mappings
 *                          ('İ' -> "i\u0307") and its final-sigma rule;
 *   2. punctuation        the 32 ASCII characters of string.punctuation are
 *                          removed; all other characters (curly quotes,
 *                          dashes, ...) stay;
 *   3. articles           re.sub(r'\b(a|an|the)\b', ' ', text): a whole word
 *                          "a", "an" or "the" becomes one space, where words
 *                          are runs of Unicode alphanumerics and '_';
 *   4. whitespace         " ".join(text.split()), with Python's Unicode
 *                          whitespace (U+00A0, U+2000..U+200A, \x1c..\x1f, ...).
 *
 * Character data come from utf8proc; where Python's definitions differ from a
 * plain reading of utf8proc's tables the code says so. */
#ifndef QT_NORMALIZE_H
#define QT_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* normalize_answer(s) as a new UTF-8 string (free it). Bytes that are not
 * valid UTF-8 are read as U+FFFD. Returns NULL only when out of memory. */
char *qt_squad_normalize(const char *s);

/* Python's str.lower(s) as a new UTF-8 string (free it); NULL when out of
 * memory. */
char *qt_py_lower(const char *s);

/* Python's character classes, per code point. */
int qt_py_isspace(uint32_t c);     /* str.isspace / what str.split() splits on */
int qt_py_isalnum(uint32_t c);     /* str.isalnum; re's \w is this or '_' */
int qt_py_iscased(uint32_t c);     /* Unicode Cased (used by final sigma) */
int qt_py_iscaseignorable(uint32_t c); /* Unicode Case_Ignorable (final sigma) */

#endif
