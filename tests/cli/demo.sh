#!/bin/sh
# The bundled demo set assets/demo/demo.json: well-formed SQuAD 2.0 whose
# offsets agree with Python's code-point indexing. Needs only python3's
# standard library, not the qaterm binary.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"

DEMO="$QATERM_SRCDIR/assets/demo/demo.json"
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

if ! command -v "$PY" >/dev/null 2>&1; then
    skip "no python3 to check demo.json with"
    done_testing
    exit 0
fi

# The checker prints one "ok NAME" or "fail NAME" line per check, plus
# "diag TEXT" lines explaining failures; the shell turns them into TAP.
"$PY" - "$DEMO" >"$TMP/checks" 2>&1 <<'EOF'
import json
import sys

# Every check is listed up front so that each gets its TAP line, in this
# order, even when there is nothing for it to look at.
problems = {name: [] for name in (
    "top level is SQuAD v2.0",
    "every article has a title and paragraphs",
    "every context is a non-empty string",
    "every passage has at least 4 questions",
    "every passage has an unanswerable question",
    "every question has an id and a question",
    "is_impossible agrees with answers",
    "unanswerable questions have plausible answers",
    "every answer text matches its answer_start",
    "at least 12 passages",
    "question ids are unique",
)}


def check(name, cond, detail=None):
    if not cond:
        problems[name].append(detail or "failed")


try:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError) as exc:
    print("fail demo.json is valid UTF-8 JSON")
    print(f"diag {exc}")
    sys.exit(0)
print("ok demo.json is valid UTF-8 JSON")

check("top level is SQuAD v2.0", isinstance(doc, dict)
      and doc.get("version") == "v2.0" and isinstance(doc.get("data"), list))
articles = doc.get("data") if isinstance(doc, dict) else None
articles = articles if isinstance(articles, list) else []

passages = 0
ids = []
for a_i, article in enumerate(articles):
    path = f"data[{a_i}]"
    check("every article has a title and paragraphs",
          isinstance(article.get("title"), str) and article["title"]
          and isinstance(article.get("paragraphs"), list), path)
    for p_i, para in enumerate(article.get("paragraphs") or []):
        passages += 1
        ppath = f"{path}.paragraphs[{p_i}]"
        context = para.get("context")
        qas = para.get("qas") or []
        check("every context is a non-empty string",
              isinstance(context, str) and context, ppath)
        context = context if isinstance(context, str) else ""
        check("every passage has at least 4 questions", len(qas) >= 4,
              f"{ppath}: {len(qas)} questions")
        check("every passage has an unanswerable question",
              any(q.get("is_impossible") is True for q in qas), ppath)
        for q_i, qa in enumerate(qas):
            qpath = f"{ppath}.qas[{q_i}] ({qa.get('id')})"
            ids.append(qa.get("id"))
            check("every question has an id and a question",
                  isinstance(qa.get("id"), str) and qa["id"]
                  and isinstance(qa.get("question"), str) and qa["question"],
                  qpath)
            answers = qa.get("answers")
            impossible = qa.get("is_impossible")
            check("is_impossible agrees with answers",
                  isinstance(answers, list) and isinstance(impossible, bool)
                  and (impossible == (len(answers) == 0)), qpath)
            spans = list(answers or []) + list(qa.get("plausible_answers") or [])
            if impossible:
                check("unanswerable questions have plausible answers",
                      len(qa.get("plausible_answers") or []) > 0, qpath)
            for span in spans:
                text, start = span.get("text"), span.get("answer_start")
                good = (isinstance(text, str) and text
                        and isinstance(start, int) and start >= 0
                        and context[start:start + len(text)] == text)
                check("every answer text matches its answer_start", good,
                      f"{qpath}: {text!r} at {start!r} reads "
                      f"{context[start:start + len(text)] if isinstance(start, int) and isinstance(text, str) else None!r}")

check("at least 12 passages", passages >= 12, f"{passages} passages")
dupes = sorted({i for i in ids if ids.count(i) > 1}, key=str)
check("question ids are unique", not dupes, f"duplicates: {dupes[:5]}")

for name, failures in problems.items():
    if failures:
        print(f"fail {name}")
        for detail in failures[:5]:
            print(f"diag {detail}")
        if len(failures) > 5:
            print(f"diag ... and {len(failures) - 5} more")
    else:
        print(f"ok {name}")
print(f"diag {len(articles)} articles, {passages} passages, {len(ids)} questions")
EOF
rc=$?

if [ $rc -ne 0 ]; then
    fail "checker ran (exit $rc)"
    diag "$(head -c 2000 "$TMP/checks")"
fi
while IFS= read -r line; do
    case $line in
        "ok "*) ok "${line#ok }" ;;
        "fail "*) fail "${line#fail }" ;;
        "diag "*) diag "${line#diag }" ;;
        *) [ $rc -eq 0 ] && diag "$line" ;;
    esac
done <"$TMP/checks"
done_testing
