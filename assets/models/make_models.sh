#!/bin/sh
# Reproduces the default models in assets/models/ from the SQuAD data with the
# recorded configs and seeds: trains each family with `qaterm train` (resuming
# a run left in the work folder), writes the final checkpoint's model files in
# F16 into assets/models/FAMILY/ (the model card there is kept), and prints its
# dev-a2 numbers with `qaterm predict` + `qaterm score`.
#
#   assets/models/make_models.sh [--qaterm BIN] [--work DIR] [FAMILY...]
#
# FAMILY: lstm, bert, t5, mamba (default: all four, in that order). DIR
# (default ./models-work) holds the runs, features caches and predictions;
# it can be several GB. Each run checkpoints every few minutes and on Ctrl-C:
# running the script again continues where it stopped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
qaterm=qaterm
work=./models-work
while [ $# -gt 0 ]; do
    case $1 in
        --qaterm) qaterm=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        -*) echo "make_models.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
families=${*:-lstm bert t5 mamba}
command -v "$qaterm" >/dev/null 2>&1 || { echo "make_models.sh: cannot run $qaterm (build first, or pass --qaterm)" >&2; exit 1; }
squad=${QATERM_SQUAD_DIR:-$top/../shared/squad}
[ -f "$squad/train-v1.1.json" ] || { echo "make_models.sh: no $squad/train-v1.1.json (set QATERM_SQUAD_DIR)" >&2; exit 1; }
export QATERM_SQUAD_DIR=$squad
mkdir -p "$work"

recipe() {
    case $1 in
        lstm) echo lstm-holdout ;;
        bert|t5|mamba) echo "$1" ;;
        *) echo "make_models.sh: unknown family $1 (expected lstm, bert, t5 or mamba)" >&2; return 1 ;;
    esac
}

[ -f "$work/dev-a2.json" ] || "$qaterm" dev-split "$squad/dev-v2.0-a.json" a2 --out "$work/dev-a2.json"
for fam in $families; do
    cfg=$top/assets/models/configs/$(recipe "$fam").json
    run=$work/$fam
    if [ -e "$run/checkpoint" ]; then
        "$qaterm" train --arch "$fam" --config "$cfg" --out "$run" --resume
    else
        "$qaterm" train --arch "$fam" --config "$cfg" --out "$run"
    fi
    # shipped in F16 (half the bytes; the card's numbers are the F16 model's)
    dest=$top/assets/models/$fam
    mkdir -p "$dest"
    "$qaterm" convert --dtype f16 "$run/checkpoint" "$dest"
    echo "== $fam: dev-a2 (threshold from the run) =="
    "$qaterm" predict --model "$dest" --data "$work/dev-a2.json" --out "$work/$fam-pred.json" \
        --na-prob-out "$work/$fam-na.json"
    "$qaterm" score "$work/dev-a2.json" "$work/$fam-pred.json" --na-prob "$work/$fam-na.json"
    echo "== $fam: dev-a2, forced answers =="
    "$qaterm" predict --model "$dest" --data "$work/dev-a2.json" --out "$work/$fam-forced.json" --always-answer
    "$qaterm" score "$work/dev-a2.json" "$work/$fam-forced.json"
done
case " $families " in
    *" bert "*|*" t5 "*|*" mamba "*)
        echo "== new weights: regenerate the test fixture of the shipped models (tests/cli/hf_shipped.sh) =="
        echo "   python3 tests/ref/hf_shipped_ref.py [--only FAM,...] assets/models assets/demo/demo.json tests/fixtures/hf/shipped.json"
        echo "   (transformers where installed, else --backend ref: torch + npm tokenizers)" ;;
esac
