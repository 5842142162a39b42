# Data installed under $(pkgdatadir): the bundled demo set, SQuAD 2.0 format.
# nobase_ keeps the assets/demo/ prefix, so it lands in $(pkgdatadir)/assets/demo/.
nobase_dist_pkgdata_DATA = assets/demo/demo.json
# The script that writes demo.json (holds the passages; run with python3).
EXTRA_DIST += assets/demo/make_demo.py
# The default models trained by qaterm's own trainer (one folder per family).
nobase_dist_pkgdata_DATA += assets/models/lstm/config.json assets/models/lstm/model.safetensors \
	assets/models/lstm/vocab.txt assets/models/lstm/MODEL_CARD.md \
	assets/models/bert/config.json assets/models/bert/model.safetensors assets/models/bert/tokenizer.json \
	assets/models/bert/vocab.txt assets/models/bert/tokenizer_config.json \
	assets/models/bert/special_tokens_map.json assets/models/bert/MODEL_CARD.md \
	assets/models/t5/config.json assets/models/t5/model.safetensors assets/models/t5/tokenizer.json \
	assets/models/t5/tokenizer_config.json assets/models/t5/special_tokens_map.json \
	assets/models/t5/generation_config.json assets/models/t5/MODEL_CARD.md \
	assets/models/mamba/config.json assets/models/mamba/model.safetensors assets/models/mamba/tokenizer.json \
	assets/models/mamba/tokenizer_config.json assets/models/mamba/special_tokens_map.json \
	assets/models/mamba/MODEL_CARD.md
EXTRA_DIST += assets/models/make_models.sh
