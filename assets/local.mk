# Data installed under $(pkgdatadir): the bundled demo set, SQuAD 2.0 format.
# nobase_ keeps the assets/demo/ prefix, so it lands in $(pkgdatadir)/assets/demo/.
nobase_dist_pkgdata_DATA = assets/demo/demo.json
# The script that writes demo.json (holds the passages; run with python3).
EXTRA_DIST += assets/demo/make_demo.py
# The default models trained by qaterm's own trainer (one folder per family).
nobase_dist_pkgdata_DATA += assets/models/lstm/config.json assets/models/lstm/model.safetensors \
	assets/models/lstm/vocab.txt assets/models/lstm/MODEL_CARD.md
EXTRA_DIST += assets/models/make_models.sh
