"""Untrusted checkpoint files: each bad one is refused, before any work, by a CheckpointError naming it."""

import json
import pickle
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from helpers import tiny_vocabulary
from safetensors.numpy import load_file, save_file

import keras_bert_zoo as kbz
from keras_bert_zoo.checkpoints import CheckpointError
from keras_bert_zoo.loading import read_checkpoint
from keras_bert_zoo.vocabulary import read_vocabulary

VOCAB = tiny_vocabulary(*(f"tok{i}" for i in range(15)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny encoder saved as an HF folder and as a Google checkpoint."""
    encoder = kbz.BertEncoder(len(VOCAB), 2, 2, 8, 16, max_sequence_length=16)
    root = tmp_path_factory.mktemp("saved")
    return kbz.save_hf(encoder, root / "hf", VOCAB), kbz.save_google_checkpoint(encoder, root / "google", VOCAB)


@pytest.fixture
def hf(saved, tmp_path):
    return shutil.copytree(saved[0], tmp_path / "hf")


@pytest.fixture
def google(saved, tmp_path):
    return shutil.copytree(saved[1], tmp_path / "google")


def edit_config(folder, name="config.json", **changes):
    config = json.loads((folder / name).read_text())
    (folder / name).write_text(json.dumps({**config, **changes}))
    return folder / name


HOSTILE = {  # today's cost of each: allocating 4 GB per matrix, minutes building layers, 4.5 GB
    "huge_hidden": dict(hidden_size=10**9, intermediate_size=10**9),
    "a_million_layers": dict(num_hidden_layers=10**6),
    "bert_large_sized": dict(hidden_size=4096, num_hidden_layers=24, num_attention_heads=64,
                             intermediate_size=16384, vocab_size=20),
}


def test_hostile_configs_are_refused_before_anything_is_built(saved, tmp_path):
    folders = []
    for name, changes in HOSTILE.items():
        folders.append(shutil.copytree(saved[0], tmp_path / name))
        edit_config(folders[-1], **changes)
    script = textwrap.dedent("""
        import resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # refusing must not allocate
        from keras_bert_zoo.checkpoints import CheckpointMismatchError
        from keras_bert_zoo.loading import load
        for folder in sys.argv[1:]:
            start = time.perf_counter()
            try:
                load(folder, model_class="backbone")
            except CheckpointMismatchError as error:
                print(f"{time.perf_counter() - start:.3f}s", error)
        print("peak RSS MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script, *map(str, folders)], capture_output=True, text=True,
                         timeout=120).stdout.splitlines()
    assert len(out) == 4, out
    for line, name in zip(out, HOSTILE):
        seconds, message = line.split(" ", 1)
        assert float(seconds[:-1]) < 1.0 and message.startswith(f"{tmp_path / name / 'config.json'}: does not match")
    assert "hidden_size=1000000000 but bert.embeddings.word_embeddings.weight says 8" in out[0]
    assert "num_hidden_layers=1000000 but the weights hold 2 layers" in out[1]
    assert "intermediate_size=16384 but bert.encoder.layer.0.intermediate.dense.weight says 16" in out[2]


def test_a_size_the_weights_cannot_confirm_is_refused(hf):
    state = load_file(hf / "model.safetensors")
    del state["embeddings.word_embeddings.weight"]
    save_file(state, hf / "model.safetensors")
    config = edit_config(hf, hidden_size=10**9)
    with pytest.raises(CheckpointError, match=f"{config}: does not match .*: bert.embeddings.word_embeddings.weight "
                                              "is missing.$"):
        read_checkpoint(hf)


@pytest.mark.parametrize("changes, problem", [
    (dict(hidden_size="8"), "hidden_size='8' is not a positive integer."),
    (dict(num_attention_heads=0), "num_attention_heads=0 is not a positive integer."),
    (dict(num_attention_heads=3), "hidden_size=8 is not divisible by num_attention_heads=3."),
    (dict(num_hidden_layers=True), "num_hidden_layers=True is not a positive integer."),
    (dict(hidden_dropout_prob="0.1"), "hidden_dropout_prob='0.1' is not a number in [0, 1)."),
    (dict(hidden_act=["gelu"]), "hidden_act=['gelu'] is not one of"),
])
def test_config_values_are_checked(hf, changes, problem):
    config = edit_config(hf, **changes)
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(hf)
    assert str(error.value).startswith(f"{config}: {problem}")


def test_broken_json_is_named(hf, google):
    (hf / "config.json").write_text('{"hidden_size": 8,')
    with pytest.raises(CheckpointError, match=r"config.json: not valid JSON \(Expecting"):
        read_checkpoint(hf)
    edit_config(google, "bert_config.json", num_attention_heads=0)
    with pytest.raises(CheckpointError, match="bert_config.json: num_attention_heads=0 is not a positive integer"):
        read_checkpoint(google)


def shard(hf, name):
    (hf / "model.safetensors").rename(hf / "shard.safetensors")
    weight_map = {tensor: name for tensor in load_file(hf / "shard.safetensors")}
    (hf / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))


def test_sharded_folder_loads(saved, hf):
    shard(hf, "shard.safetensors")
    assert read_checkpoint(hf)[1].keys() == read_checkpoint(saved[0])[1].keys()


@pytest.mark.parametrize("where", ["../shard.safetensors", "absolute", "escaping_link"])
def test_shards_outside_the_folder_are_refused(hf, where):
    outside = hf.parent / "shard.safetensors"
    if where == "absolute":
        where = str(outside)
    elif where == "escaping_link":
        (hf / "link.safetensors").symlink_to(outside)
        where = "link.safetensors"
    shard(hf, where)
    (hf / "shard.safetensors").rename(outside)
    with pytest.raises(CheckpointError, match=f"index.json: shard '{where}' is outside {hf}; refused"):
        read_checkpoint(hf)


def test_hub_cache_blobs_are_inside(hf):
    repo = hf.parent / "models--x"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots").mkdir()
    snapshot = hf.rename(repo / "snapshots" / "abc")
    shard(snapshot, "shard.safetensors")
    (snapshot / "shard.safetensors").rename(repo / "blobs" / "f00")
    (snapshot / "shard.safetensors").symlink_to("../../blobs/f00")
    assert read_checkpoint(snapshot)[1]


def test_truncated_files_are_named(hf, google):
    data = (hf / "model.safetensors").read_bytes()
    (hf / "model.safetensors").write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match=r"model.safetensors: not a readable safetensors file"):
        read_checkpoint(hf)
    (data_file,) = google.glob("bert_model.ckpt.data-*")
    data_file.write_bytes(data_file.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"bert_model.ckpt.data-00000-of-00001: \d+ bytes, but bert_model"
                                              r".ckpt.index describes \d+ bytes of tensors; the checkpoint is trunc"):
        read_checkpoint(google)


@pytest.mark.parametrize("value, problem", [
    (np.full((8,), np.nan, "float32"), "holds NaN or infinite values"),
    (np.zeros((8,), "int64"), "holds int64 values; model weights are floats"),
])
def test_nan_and_integer_weights_are_named(hf, value, problem):
    state = load_file(hf / "model.safetensors")
    state["pooler.dense.bias"] = value
    save_file(state, hf / "model.safetensors")
    with pytest.raises(CheckpointError, match=f"model.safetensors: pooler.dense.bias {problem}"):
        read_checkpoint(hf)


class Payload:
    def __reduce__(self):
        return print, ("this ran code from the checkpoint",)


def test_a_pickle_with_code_is_refused_without_advising_to_run_it(hf, capsys):
    (hf / "model.safetensors").unlink()
    torch.save({"pooler.dense.bias": Payload()}, hf / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(hf)
    assert str(error.value).startswith(f"{hf / 'pytorch_model.bin'}: holds objects other than tensors; refused")
    assert "weights_only" not in str(error.value) and "model.safetensors" in str(error.value)
    assert isinstance(error.value.__context__, pickle.UnpicklingError)
    assert "ran code" not in capsys.readouterr().out


def test_vocab_not_utf8_is_named_with_its_line(hf):
    (hf / "vocab.txt").write_bytes("\n".join(VOCAB[:7] + ["caf\xe9"] + VOCAB[8:]).encode("latin-1"))
    with pytest.raises(CheckpointError, match=r"vocab.txt: not UTF-8 \(byte 44, line 8: b'\\xe9'\)"):
        read_checkpoint(hf)


def test_vocab_with_a_byte_order_mark_is_refused(hf):
    (hf / "vocab.txt").write_text("\ufeff" + "\n".join(VOCAB), encoding="utf-8")
    with pytest.raises(CheckpointError, match="vocab.txt: starts with a UTF-8 byte-order mark"):
        read_checkpoint(hf)


def test_duplicate_tokens_map_to_the_last_id_as_in_transformers(tmp_path):
    from transformers import BertTokenizer

    tokens = VOCAB[:6] + ["dup", "tok7", "dup"]
    (tmp_path / "vocab.txt").write_text("\n".join(tokens) + "\n")
    with pytest.warns(UserWarning, match=r"vocab.txt: token 'dup' is on lines 7 and 9; it maps to id 8"):
        ours = kbz.BertTokenizer(tmp_path / "vocab.txt")
        assert read_vocabulary(tmp_path / "vocab.txt")[6] == "[duplicate of line 9, line 7]"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = BertTokenizer(str(tmp_path / "vocab.txt"))
    assert ours(["dup tok7"]).to_list() == [theirs("dup tok7", add_special_tokens=False)["input_ids"]] == [[8, 7]]
