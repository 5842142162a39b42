#!/bin/sh
# The TUI with four real engines side by side: the fixture checkpoints of
# BERT, T5, the BiLSTM reader and Mamba. Their weights are random, so their
# answers are nonsense; what is checked is everything around them: four
# panels with names, an answer or "no answer", confidence, latency bars in
# ms and EM/F1 badges (2x2 at 80x24, side by side at 160x48), the badges
# agreeing with the database, the stored EM agreeing with the official
# normalisation of the stored answers, spans in code points, each model's
# identity (SHA-256 of its weights), history and stats against the
# database, the help overlay.
. "${QATERM_SRCDIR:-.}/tests/lib.sh"
. "$QATERM_SRCDIR/tests/cli/tui_lib.sh"

if [ "$HAVE_SQLITE3" != 1 ]; then
    skip "the sqlite3 command-line tool is not installed"
    done_testing
    exit 0
fi

# SQuAD's normalize_answer for ASCII text: lower case, no punctuation, no
# articles, single spaces.
squad_norm() {
    printf '%s\n' "$1" | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C tr -d '[:punct:]' |
        sed -E 's/(^|[[:space:]])(a|an|the)([[:space:]]|$)/\1 \3/g; s/(^|[[:space:]])(a|an|the)([[:space:]]|$)/\1 \3/g' |
        tr -s '[:space:]' ' ' | sed -E 's/^ //; s/ $//'
}

real_models
tui_start 80 24 xterm-256color
check "the four real engines load" test "$(tui_models)" = 4
tui_keys Enter Enter Tab Enter
if tui_wait_count " EM [01] " 4 "$TUI_TIMEOUT"; then ok "four panels with EM/F1 badges"; else fail "four EM badges"; diag "$(cat "$TMP/screen")"; fi
if [ "$(tui_count '█+░* *[0-9]+ ms')" -eq 4 ]; then ok "four latency bars with milliseconds"; else fail "latency bars"; diag "$(cat "$TMP/screen")"; fi
tui_panels
if missing=$(panel_titles_missing) && [ -z "$missing" ]; then ok "each panel names its model and engine"; else fail "panels lack:$missing"; diag "$(cat "$TMP/screen")"; fi
if grep -Eq "tiny-bert +bert +t5-relu +t5 *$" "$TMP/panels" && grep -Eq "tiny +bilstm +tiny-mamba-span +mamba *$" "$TMP/panels"; then
    ok "2x2 panels at 80x24"
else
    fail "2x2 panels"; diag "$(cat "$TMP/screen")"
fi
if [ "$(grep -Eo '“|no answer' "$TMP/panels" | wc -l)" -eq 4 ]; then ok "each shows an answer or \"no answer\""; else fail "answers"; diag "$(cat "$TMP/screen")"; fi
if [ "$(tui_count 'conf [0-9]+%  no-answer [0-9]+%')" -eq 4 ]; then ok "each with its confidence and no-answer probability"; else fail "confidence"; diag "$(cat "$TMP/screen")"; fi

if sql_wait "SELECT count(*) FROM answers" 4 "$TUI_TIMEOUT"; then ok "the four answers are recorded"; else fail "answers not recorded"; fi
# the badges, in panel order, are the stored EM of each model
grep -Eo ' EM [01] ' "$TMP/panels" | tr -dc '01' >"$TMP/badges"
sql "SELECT a.em FROM answers a ORDER BY a.model_id" | tr -dc '01' >"$TMP/db_em"
check "each badge is the EM the database holds for that model" cmp "$TMP/badges" "$TMP/db_em"
# the answers shown (cut with … when long) are the stored ones
grep -o '“[^”…]*' "$TMP/panels" | sed 's/^“//' >"$TMP/shown"
sql "SELECT replace(a.text, char(10), ' ') FROM answers a WHERE a.text != '' ORDER BY a.model_id" >"$TMP/stored"
bad=0
exec 3<"$TMP/stored"
while IFS= read -r shown; do
    IFS= read -r stored <&3 || { bad=1; break; }
    case "$stored" in "$shown"*) ;; *) bad=1; diag "shown '$shown', stored '$stored'" ;; esac
done <"$TMP/shown"
IFS= read -r extra <&3 && bad=1
exec 3<&-
check "the answers shown are the stored answers" test "$bad" = 0

tui_resize 160 48
tui_check "four panels side by side at 160x48" "tiny-bert +bert +t5-relu +t5 +tiny +bilstm +tiny-mamba-span +mamba"
tui_screen >"$TMP/ask160"
tui_resize 80 24
tui_check "back to 2x2 at 80x24" "tiny +bilstm +tiny-mamba-span +mamba"
tui_screen >"$TMP/ask80"

# the unanswerable question
tui_keys Tab Down Down Down Down Down Enter
tui_check "an unanswerable question shows its gold as no answer" "Gold: no answer"
sql_wait "SELECT count(*) FROM questions" 2 "$TUI_TIMEOUT"
if sql_wait "SELECT count(*) FROM answers" 8 "$TUI_TIMEOUT"; then ok "both questions recorded with four answers each"; else fail "8 answers"; fi
check "the unanswerable one is marked so" test "$(sql "SELECT is_impossible FROM questions WHERE external_id = 'demo-lighthouse-1-6'")" = 1

# the stored EM is the official rule applied to the stored answers: the
# normalised answer equals a normalised gold answer ("" when there is none)
sql "SELECT a.id, a.em, replace(a.text, char(10), ' ') FROM answers a ORDER BY a.id" >"$TMP/rows"
bad=0
while IFS='|' read -r id em text; do
    pred=$(squad_norm "$text")
    want=0
    sql "SELECT json_extract(g.value, '$.text') FROM answers a JOIN questions q ON q.id = a.question_id,
         json_each(CASE WHEN q.gold_answers = '[]' THEN '[{\"text\":\"\"}]' ELSE q.gold_answers END) g
         WHERE a.id = $id" >"$TMP/golds"
    while IFS= read -r gold; do [ "$(squad_norm "$gold")" = "$pred" ] && want=1; done <"$TMP/golds"
    [ "$em" = "$want" ] || { bad=1; diag "answer $id '$text': stored EM $em, official rule $want"; }
done <"$TMP/rows"
check "every stored EM follows the official rule for its stored answer" test "$bad" = 0
check "answer spans are stored in code points of the passage" test \
    "$(sql "SELECT count(*) FROM answers a JOIN questions q ON q.id = a.question_id JOIN passages p ON p.id = q.passage_id
            WHERE a.char_start >= 0 AND substr(p.text, a.char_start + 1, a.char_end - a.char_start) != a.text")" -eq 0
check "the extractive engines' answers have spans" test \
    "$(sql "SELECT count(*) FROM answers WHERE text != '' AND char_start >= 0")" -ge 1
check "latencies are stored" test "$(sql "SELECT count(*) FROM answers WHERE latency_ms > 0")" -eq 8
check "the models are stored with their engines" test \
    "$(sql "SELECT group_concat(architecture, ' ') FROM (SELECT architecture FROM models ORDER BY id)")" = "$REAL_ARCHS"
check "and their parameter counts" test "$(sql "SELECT count(*) FROM models WHERE parameter_count > 0")" -eq 4
bad=0
for dir in bert t5-relu bilstm/tiny mamba/span; do
    want=$(sha256sum "$QATERM_SRCDIR/tests/fixtures/$dir/model.safetensors" | cut -c1-64)
    [ "$(sql "SELECT count(*) FROM models WHERE checkpoint_sha256 = '$want'")" = 1 ] || { bad=1; diag "no model with the SHA-256 of $dir"; }
done
check "each identified by the SHA-256 of its model.safetensors" test "$bad" = 0
SID=$(sql "SELECT session_id FROM questions LIMIT 1")

tui_keys Escape
tui_keys '?'
tui_check "? opens the help overlay" "Help: Ask"
tui_keys x
tui_check "any key closes it" "Gold: no answer"
tui_keys h
tui_check "history" "History ● "
if history_em_ok "$SID"; then ok "history shows each model's EM as the database has it"; else fail "history EM"; diag "$(cat "$TMP/screen")"; fi
if grep -Eq "^● +$SID .* 2  tiny-b[^ ]* [0-9]+%? +t5-r[^ ]* [0-9]+%? +tiny [0-9]+%? +tiny-m[^ ]* [0-9]+%?" "$TMP/screen"; then
    ok "the session's row keeps the models' names apart"
else
    fail "history row names"; diag "$(cat "$TMP/screen")"
fi
tui_keys Enter
tui_check "the session's questions with every answer" "When did the first keeper arrive"
check "each with the four models' answers" test "$(tui_count '^  (tiny-bert|t5-relu|tiny|tiny-mamba-spa) ')" -eq 8
tui_keys Escape s
tui_check "stats for the session" "Stats ● session #$SID"
check "with EM, F1 and latency bars per model" test "$(tui_count 'p50 █')" -eq 4
check "and the HasAns / NoAns split" test "$(tui_count 'HasAns  EM [0-9.]+  F1 [0-9.]+  \(1\) +NoAns   EM [0-9.]+  F1 [0-9.]+  \(1\)')" -eq 4
grep -Eo '^   EM  [█░]+ [0-9.]+' "$TMP/screen" | awk '{print $NF}' >"$TMP/stats_em"
sql "SELECT printf('%.1f', 100.0 * avg(em)) FROM answers GROUP BY model_id ORDER BY model_id" >"$TMP/db_stats_em"
check "each model's EM in stats is the database's" cmp "$TMP/stats_em" "$TMP/db_stats_em"
tui_keys a
tui_check "a switches to all sessions" "Stats ● all sessions"
tui_keys q q q q q
rc=$(tui_wait_exit 10)
check "quits with status 0" test "$rc" = 0
diag "ask screen at 80x24:" "$(cat "$TMP/ask80")" "ask screen at 160x48:" "$(cat "$TMP/ask160")"
done_testing
