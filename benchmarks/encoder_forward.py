"""Forward-pass throughput of every family's encoder against transformers (torch) on the same weights.

Families: BERT (BertEncoder vs BertModel; base and MiniLM-L6 shapes), RoBERTa (RobertaEncoder vs
RobertaModel), XLM-RoBERTa (XLMRobertaEncoder vs XLMRobertaModel, the real 250,002-token vocabulary),
DistilBERT (DistilBertEncoder vs DistilBertModel), DeBERTa-v3 (DebertaV3Encoder vs DebertaV2Model), ALBERT
(AlbertEncoder vs AlbertModel) and ELECTRA (ElectraEncoder vs ElectraModel), all at their base shapes.
Both run fp32 on the CPU with the SAME weights: a randomly initialised HF model of each shape is saved
with `save_pretrained` to a temporary folder, torch loads it back with `AutoModel.from_pretrained` and
ours with `kbz.load(path, model_class="backbone")`. Every variant's outputs (sequence, and pooled where the family
has a pooler) are checked against torch (max abs diff <= 1e-4) before timing.

Thread settings and oneDNN must be fixed before TensorFlow starts, so each thread
configuration runs in its own worker process; inside a worker, torch and all our variants are
timed interleaved (round-robin, order rotated every round) so that load from other processes
hits them alike. Reported: best-of-N and median seq/s, ours/torch ratios of each, and the 1-minute
load average as each model/batch's timed rounds start.

    python benchmarks/encoder_forward.py                    # every family, 2thr and 1thr (18 min on 2 shared cores)
    python benchmarks/encoder_forward.py --configs 2thr     # every family, 2 threads (12 min)
    python benchmarks/encoder_forward.py --families roberta,distilbert --quick
    python benchmarks/encoder_forward.py --families deberta-v2 --configs 2thr
    python benchmarks/encoder_forward.py --quick            # MiniLM-L6 only, short variant list (<1 min)
"""

import os
import sys

from table import print_table  # benchmarks/table.py: before benchmarks/ leaves sys.path below

# Run as a script, Python puts benchmarks/ first on sys.path, where a sibling file named like a
# stdlib module (e.g. benchmarks/tokenize.py) would shadow it for torch/TF. Drop that entry.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import functools
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

# name -> (family, num_hidden_layers, hidden_size, num_attention_heads, intermediate_size, vocabulary size)
MODELS = {
    "bert-base": ("bert", 12, 768, 12, 3072, 30522),
    "minilm-l6": ("bert", 6, 384, 12, 1536, 30522),
    "roberta-base": ("roberta", 12, 768, 12, 3072, 50265),
    "xlm-roberta-base": ("xlm-roberta", 12, 768, 12, 3072, 250002),
    "distilbert-base": ("distilbert", 6, 768, 12, 3072, 30522),
    "deberta-v3-base": ("deberta-v2", 12, 768, 12, 3072, 128100),
    "albert-base-v2": ("albert", 12, 768, 12, 3072, 30000),
    "electra-base": ("electra", 12, 768, 12, 3072, 30522),
}
# family -> (transformers model class, padding token id); the model class's config class builds the folder.
FAMILIES = {
    "bert": ("BertModel", 0),
    "roberta": ("RobertaModel", 1),
    "xlm-roberta": ("XLMRobertaModel", 1),
    "distilbert": ("DistilBertModel", 0),
    "deberta-v2": ("DebertaV2Model", 0),
    "albert": ("AlbertModel", 0),
    "electra": ("ElectraModel", 0),
}

VARIANTS = {
    "torch": "transformers' model of the family (BertModel, RobertaModel, ...), eval(), torch.no_grad()",
    "predict_on_batch": "encoder.predict_on_batch(numpy inputs), as loaded (dropout=0.1 config)",
    "tf.function": "tf.function(lambda x: encoder(x, training=False)), as loaded",
    "tf.function+xla": "same, tf.function(jit_compile=True)",
    "pob+xla": "encoder.compile(jit_compile=True) then predict_on_batch",
    "dropout0": "kbz.load(dir, model_class='backbone', dropout=0.0) (and attention_dropout=0.0 where the family "
                "has it): keras MHA takes its fused attention path",
    "dropout0+xla": "dropout0 in tf.function(jit_compile=True)",
    "PROTO-flat": "PROTOTYPE (not in keras_bert_zoo): same layers/weights, flat [tokens, hidden] layout",
}
ALL = list(VARIANTS)
MAIN = ["torch", "predict_on_batch", "tf.function", "dropout0", "PROTO-flat"]
SHORT = ["torch", "tf.function", "dropout0", "PROTO-flat"]

# name -> (torch threads, TF intra-op threads, TF inter-op threads, oneDNN on, variants)
# TF's 0 means "TensorFlow's default" (on this 2-core machine: 2 intra, 2 inter).
CONFIGS = {
    "2thr": (2, 0, 0, True, MAIN),
    "2thr-tf2x1": (2, 2, 1, True, SHORT),
    "1thr": (1, 1, 1, True, ["torch", "tf.function", "PROTO-flat"]),
    "2thr-onednn-off": (2, 0, 0, False, ["torch", "tf.function", "dropout0"]),
    "1thr-onednn-off": (1, 1, 1, False, ["torch", "tf.function", "PROTO-flat"]),
}
DEFAULT_CONFIGS = ["2thr", "1thr"]
TOLERANCE = 1e-4


# --------------------------------------------------------------------------------------------
# Parent: checkpoints, workers, report.
# --------------------------------------------------------------------------------------------


def hf_config(name):
    """transformers' config of model `name`: its family's base shape with `MODELS[name]`'s sizes."""
    import transformers

    family, layers, hidden, heads, intermediate, vocab = MODELS[name]
    config_class = getattr(transformers, FAMILIES[family][0]).config_class
    if family == "distilbert":
        return config_class(vocab_size=vocab, n_layers=layers, dim=hidden, n_heads=heads, hidden_dim=intermediate)
    shape = dict(vocab_size=vocab, num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                 intermediate_size=intermediate)
    if family in ("bert", "electra"):  # electra-base-discriminator: 768-wide embeddings, exact GELU
        return config_class(**shape)
    if family == "albert":  # albert-base-v2's config.json: 128-wide embeddings, one shared group, gelu_new
        return config_class(**shape, embedding_size=128, hidden_act="gelu_new", num_hidden_groups=1)
    if family == "deberta-v2":  # microsoft/deberta-v3-base's config.json
        return config_class(**shape, max_position_embeddings=512, relative_attention=True, position_buckets=256,
                            pos_att_type="p2c|c2p", share_att_key=True, norm_rel_ebd="layer_norm",
                            position_biased_input=False, type_vocab_size=0, layer_norm_eps=1e-7)
    # roberta-base's and xlm-roberta-base's config.json: 514 positions, one token type, pad 1, LayerNorm 1e-5.
    return config_class(**shape, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2)


def make_checkpoints(models, root):
    """Random-init HF models of each family, saved with save_pretrained (torch only; TF is not loaded here)."""
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    paths = {}
    for name in models:
        torch.manual_seed(0)
        model = getattr(transformers, FAMILIES[MODELS[name][0]][0])(hf_config(name))
        # Non-trivial LayerNorm parameters, so that a mis-mapped gamma/beta would show.
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.LayerNorm):
                    module.weight.uniform_(0.8, 1.2)
                    module.bias.normal_(0.0, 0.02)
        paths[name] = str(Path(root) / name)
        model.save_pretrained(paths[name])
    return paths


def cpu_model():
    """'model name (family F model M, MHz)' of the first CPU in /proc/cpuinfo."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return "unknown CPU"
    return (f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')} model "
            f"{fields.get('model', '?')}, {fields.get('cpu MHz', '?')} MHz)")


def run_worker(config_name, args, checkpoints, out_file):
    torch_threads, intra, inter, onednn, variants = CONFIGS[config_name]
    if args.variants == ["all"]:
        variants = ALL
    elif args.variants:
        variants = ["torch"] + [v for v in args.variants if v != "torch"]
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1" if onednn else "0", TF_CPP_MIN_LOG_LEVEL="2")
    spec = {
        "config": config_name,
        "torch_threads": torch_threads,
        "tf_intra": intra,
        "tf_inter": inter,
        "onednn": onednn,
        "variants": variants,
        "checkpoints": checkpoints,
        "batch_sizes": args.batch_sizes,
        "seq_len": args.seq_len,
        "repeats": args.repeats,
        "flash_check": config_name == "2thr",
        "out": out_file,
    }
    subprocess.run([sys.executable, __file__, "--_worker", json.dumps(spec)], env=env, check=True)
    return json.loads(Path(out_file).read_text())


def fmt_rows(result):
    rows = []
    for r in result["rows"]:
        torch_row = next(
            x for x in result["rows"]
            if x["model"] == r["model"] and x["batch"] == r["batch"] and x["variant"] == "torch"
        )
        if r.get("error"):
            rows.append((r["model"], r["batch"], r["variant"], "-", "-", "-", "-", "-", "-", r["error"]))
            continue
        ratio_best = r["best_seq_s"] / torch_row["best_seq_s"]
        ratio_median = r["median_seq_s"] / torch_row["median_seq_s"]
        cpu_ratio = torch_row["cpu_ms"] / r["cpu_ms"]
        note = f"diff {r['max_diff']:.1e}" if r["variant"] != "torch" else r.get("note", "")
        if r.get("first_call_s", 0) > 2:
            note += f"; 1st call {r['first_call_s']:.0f}s"
        rows.append(
            (
                r["model"],
                r["batch"],
                r["variant"],
                f"{r['best_seq_s']:.1f}",
                f"{r['median_seq_s']:.1f}",
                f"{ratio_best:.2f}",
                f"{ratio_median:.2f}",
                f"{cpu_ratio:.2f}",
                f"{r['load']:.1f}",
                note,
            )
        )
    return rows


HEADER = ("model", "batch", "variant", "best seq/s", "median seq/s", "ratio best", "ratio median",
          "ratio CPU-time", "load", "notes")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=None,
                        help=f"comma list of {', '.join(FAMILIES)} (default: all): the models of these families")
    parser.add_argument("--models", default=None,
                        help=f"comma list of {', '.join(MODELS)} (default: every model of --families)")
    parser.add_argument("--batch-sizes", default=None, help="comma list (default: 32,1)")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per variant (default 3; --quick: 2). A round is one call at "
                             "batch >= 8, else 4 // batch calls, each call timed as its own sample.")
    parser.add_argument("--configs", default=None,
                        help=f"comma list of {', '.join(CONFIGS)}, or all (default: {','.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--variants", default=None,
                        help=f"our variants for every config, a comma list of {', '.join(VARIANTS)}, or all "
                             "(default: per config; the XLA variants only run when named or with all)")
    parser.add_argument("--quick", action="store_true",
                        help="2thr config, short variant list, 2 rounds; MiniLM-L6 only unless "
                             "--families or --models names others")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        return worker(json.loads(args._worker))

    families = args.families.split(",") if args.families else list(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown family(ies) {unknown}; choose from {list(FAMILIES)}")
    if args.models:
        models = args.models.split(",")
    elif args.quick and not args.families:
        models = ["minilm-l6"]
    else:
        models = [m for m in MODELS if MODELS[m][0] in families]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    args.batch_sizes = [int(b) for b in (args.batch_sizes or "32,1").split(",")]
    args.repeats = args.repeats or (2 if args.quick else 3)
    configs = args.configs.split(",") if args.configs else (["2thr"] if args.quick else DEFAULT_CONFIGS)
    configs = list(CONFIGS) if configs == ["all"] else configs
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    args.variants = args.variants.split(",") if args.variants else (SHORT if args.quick else None)
    unknown = [v for v in args.variants or [] if v not in VARIANTS and v != "all"]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)} or all")

    start = time.perf_counter()
    print(f"machine: {os.cpu_count()} CPU cores, {cpu_model()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    shapes = ", ".join(f"{m}=L{MODELS[m][1]} H{MODELS[m][2]} A{MODELS[m][3]} I{MODELS[m][4]} V{MODELS[m][5]}"
                       for m in models)
    print(f"shapes: {shapes}; seq_len {args.seq_len}; batch sizes {args.batch_sizes}; fp32; "
          f"{args.repeats} timed rounds")
    print("variants:")
    for name, description in VARIANTS.items():
        print(f"  {name:17s} {description}")
    with tempfile.TemporaryDirectory(prefix="kbz_bench_") as root:
        checkpoints = make_checkpoints(models, root)
        print(f"checkpoints written ({time.perf_counter() - start:.0f}s)", flush=True)
        all_rows = {}
        for config_name in configs:
            torch_threads, intra, inter, onednn, _ = CONFIGS[config_name]
            load_before = os.getloadavg()[0]
            result = run_worker(config_name, args, checkpoints, str(Path(root) / f"{config_name}.json"))
            load_after = os.getloadavg()[0]
            title = (
                f"config {config_name}: torch.set_num_threads({torch_threads}) -> {result['torch_threads']}; "
                f"TF intra/inter = {intra}/{inter} (0 = TF default); oneDNN {'on' if onednn else 'off'}; "
                f"1-min loadavg {load_before:.1f} -> {load_after:.1f}"
            )
            print(f"\n=== {title}")
            print(f"versions: {result['versions']}")
            if result.get("flash"):
                print(f"keras.config.enable_flash_attention(): {result['flash']}")
            rows = fmt_rows(result)
            print_table(HEADER, rows)
            all_rows[config_name] = (title, result, rows)
        if args.markdown:
            for config_name, (title, result, rows) in all_rows.items():
                print(f"\n#### {title}\n")
                print_table(HEADER, rows, markdown=True)
    print(f"\ntotal {time.perf_counter() - start:.0f}s. ratio = ours/torch seq/s (>1: ours faster); "
          "CPU-time ratio = torch CPU time / ours per call.")


# --------------------------------------------------------------------------------------------
# Worker: one thread configuration, all models / batch sizes / variants, interleaved timing.
# --------------------------------------------------------------------------------------------


def proto_flat_forward(encoder):
    """PROTOTYPE of a faster encoder forward (inference, any family), with the encoder's own weights.

    Same math as keras_hub's TransformerEncoder (post-LN, exact GELU), written with keras.ops:
      * hidden states stay flat, [batch * seq, hidden]: every Dense is then a 2-D matmul, which
        TensorFlow/oneDNN fuses with its bias add (and GELU) into one _MklNativeFusedMatMul; the
        stock layout ([batch, seq, hidden] -> tensordot/einsum) leaves MatMul, bias add and GELU
        as separate ops and runs Q/K/V/output projections as broadcast BatchMatMuls;
      * attention is two batched matmuls on [batch, heads, seq, head_dim] with the padding mask
        turned into an additive bias once per forward (not a boolean select per layer) and no
        dropout op (inference).
    """
    import keras
    import tensorflow as tf
    from keras import ops

    if not hasattr(encoder.transformer_layers[0], "_self_attention_layer"):  # DeBERTa's disentangled attention
        raise NotImplementedError("PROTO-flat covers keras-hub TransformerEncoder blocks only")
    heads, hidden = encoder.num_heads, encoder.hidden_dim
    head_dim = hidden // heads
    scale = 1.0 / head_dim**0.5

    def project(x, dense, batch, seq):
        """[batch*seq, hidden] -> [batch, heads, seq, head_dim] through an EinsumDense's weights."""
        y = ops.matmul(x, ops.reshape(dense.kernel, (hidden, hidden))) + ops.reshape(dense.bias, (hidden,))
        return ops.transpose(ops.reshape(y, (batch, seq, heads, head_dim)), (0, 2, 1, 3))

    # Every family's embeddings (BERT's segments, RoBERTa's positions from the mask, ...) as the encoder has them.
    embeddings = keras.Model(encoder.input, encoder.get_layer("embeddings_dropout").output)
    if embeddings.output.shape[-1] != hidden:  # ALBERT projects its embeddings up after this layer
        raise NotImplementedError("PROTO-flat covers embeddings as wide as the hidden states only")

    def forward(inputs):
        token_ids = inputs["token_ids"]
        batch, seq = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        x = ops.reshape(embeddings(inputs, training=False), (-1, hidden))
        mask_bias = ops.cast(1 - inputs["padding_mask"], x.dtype)[:, None, None, :] * -1e9

        for block in encoder.transformer_layers:
            attention = block._self_attention_layer

            q, k, v = (
                project(x, dense, batch, seq)
                for dense in (attention._query_dense, attention._key_dense, attention._value_dense)
            )
            scores = ops.matmul(q * scale, ops.transpose(k, (0, 1, 3, 2))) + mask_bias
            context = ops.matmul(ops.softmax(scores, axis=-1), v)
            context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (-1, hidden))
            out = attention._output_dense
            context = ops.matmul(context, ops.reshape(out.kernel, (hidden, hidden))) + out.bias
            x = block._self_attention_layer_norm(context + x)
            ffn = block._feedforward_output_dense(block._feedforward_intermediate_dense(x))
            x = block._feedforward_layer_norm(ffn + x)

        x = ops.reshape(x, (batch, seq, hidden))
        if not hasattr(encoder, "pooled_dense"):  # DistilBERT has no pooler
            return {"sequence_output": x}
        return {"sequence_output": x, "pooled_output": encoder.pooled_dense(x[:, 0, :])}

    return tf.function(forward)


def make_inputs(model_name, batch, seq_len, seed=0):
    """Token ids, segment ids and padding mask of a batch; padded tokens hold the family's padding id."""
    import numpy as np

    family, *_, vocab = MODELS[model_name]
    pad_id = FAMILIES[family][1]
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(3, vocab, (batch, seq_len)).astype("int32")  # 0-2: specials of some families
    segment_ids = np.zeros((batch, seq_len), "int32")
    padding_mask = np.zeros((batch, seq_len), "int32")
    for row in range(batch):  # row 0 full length, others padded to a random length >= seq_len/2
        length = seq_len if row == 0 else int(rng.integers(seq_len // 2, seq_len + 1))
        padding_mask[row, :length] = 1
        segment_ids[row, length // 2 : length] = 1
        token_ids[row, length:] = pad_id
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def check_flash_attention():
    """What keras' flash-attention switches do for our encoder on this (TensorFlow) backend."""
    import keras
    import numpy as np
    from keras.src.backend.common import global_state

    import keras_bert_zoo as kbz

    x = {"token_ids": np.ones((1, 8), "int32"), "segment_ids": np.zeros((1, 8), "int32"),
         "padding_mask": np.ones((1, 8), "int32")}
    saved = global_state.get_global_attribute("flash_attention", default=None)
    keras.config.enable_flash_attention()
    flag = keras.config.is_flash_attention_enabled()
    results = [f"enable_flash_attention() sets the global flag to {flag!r} (None = auto = the default)"]
    try:
        for dropout in (0.1, 0.0):
            try:
                encoder = kbz.BertEncoder(vocabulary_size=10, num_layers=1, num_heads=2, hidden_dim=8,
                                          intermediate_dim=16, dropout=dropout)
                encoder(x)
                results.append(f"encoder(dropout={dropout}) runs")
            except Exception as e:  # noqa: BLE001 - we report whatever keras raises
                results.append(f"encoder(dropout={dropout}): {type(e).__name__}: {str(e).splitlines()[0]}")
        q = np.ones((1, 8, 2, 4), "float32")
        try:
            keras.ops.dot_product_attention(q, q, q, flash_attention=True)
            results.append("ops.dot_product_attention(flash_attention=True) runs")
        except Exception as e:  # noqa: BLE001
            results.append(f"ops.dot_product_attention(flash_attention=True): {type(e).__name__}: "
                           f"{str(e).splitlines()[0]}")
    finally:
        global_state.set_global_attribute("flash_attention", saved)
    return "; ".join(results)


def load_models(path, variants):
    """transformers' model of the folder (AutoModel) and the encoder instances the requested variants need."""
    import transformers

    import keras_bert_zoo as kbz

    models = {"hf": transformers.AutoModel.from_pretrained(path).eval(),
              "ours": kbz.load(path, model_class="backbone")}
    if any(v.startswith("dropout0") for v in variants):
        no_dropout = {key: 0.0 for key in ("dropout", "attention_dropout") if key in models["ours"].get_config()}
        models["ours0"] = kbz.load(path, model_class="backbone", **no_dropout)
    if "pob+xla" in variants:
        models["ours_xla"] = kbz.load(path, model_class="backbone")
        models["ours_xla"].compile(jit_compile=True)
    return models


def make_variant(name, models, x_np, x_tf, x_pt):
    """A zero-argument callable running one forward pass of variant `name`; returns the outputs."""
    import tensorflow as tf
    import torch

    if name == "torch":
        hf = models["hf"]

        def run_torch():
            with torch.no_grad():
                out = hf(**x_pt)
            pooled = {} if getattr(out, "pooler_output", None) is None else {"pooled_output": out.pooler_output}
            return {"sequence_output": out.last_hidden_state, **pooled}

        return run_torch
    if name == "predict_on_batch":
        return functools.partial(models["ours"].predict_on_batch, x_np)
    if name == "pob+xla":
        return functools.partial(models["ours_xla"].predict_on_batch, x_np)
    if name == "PROTO-flat":
        return functools.partial(proto_flat_forward(models["ours"]), x_tf)
    encoder = models["ours0" if name.startswith("dropout0") else "ours"]
    forward = tf.function(functools.partial(encoder, training=False), jit_compile=name.endswith("+xla"))
    return functools.partial(forward, x_tf)


def bench_batch(spec, model_name, models, batch, tag):
    """Checks every variant against torch, then times them interleaved; returns table rows."""
    import numpy as np
    import tensorflow as tf
    import torch

    x_np = {k: v for k, v in make_inputs(model_name, batch, spec["seq_len"]).items() if k in models["ours"].input}
    x_tf = {k: tf.constant(v) for k, v in x_np.items()}
    torch_names = {"token_ids": "input_ids", "segment_ids": "token_type_ids", "padding_mask": "attention_mask"}
    x_pt = {torch_names[k]: torch.tensor(v, dtype=torch.long) for k, v in x_np.items()}
    reference = None
    fns, info = {}, {}
    for name in spec["variants"]:  # "torch" comes first
        t = time.perf_counter()
        try:
            fn = make_variant(name, models, x_np, x_tf, x_pt)
            out = fn()  # first call: tracing / XLA compilation; its outputs are checked
        except Exception as e:  # noqa: BLE001 - a failing variant is reported, not fatal
            info[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"}
            print(f"{tag} {model_name} b{batch} {name:17s} {info[name]['error']}", flush=True)
            continue
        first = time.perf_counter() - t
        out = {k: np.asarray(v) for k, v in out.items()}
        reference = out if name == "torch" else reference
        diff = max(float(np.max(np.abs(out[k] - reference[k]))) for k in reference)
        info[name] = {"first_call_s": first, "max_diff": diff}
        print(f"{tag} {model_name} b{batch} {name:17s} first call {first:5.1f}s, max |diff| {diff:.1e}",
              flush=True)
        if diff > TOLERANCE:
            info[name]["error"] = f"outputs differ from torch by {diff:.2e} > {TOLERANCE}"
            continue
        if batch < 8:
            fn()  # extra warm-up where calls are cheap; at large batch the first call suffices
        fns[name] = fn

    load = os.getloadavg()[0]  # 1-minute load average as the timed rounds start (other processes included)
    calls = 1 if batch >= 8 else max(1, 4 // batch)
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    order = list(fns)
    for round_ in range(spec["repeats"]):
        shift = round_ % len(order)
        for name in order[shift:] + order[:shift]:
            for _ in range(calls):  # every call is one sample
                w, c = time.perf_counter(), time.process_time()
                fns[name]()
                wall[name].append(time.perf_counter() - w)
                cpu[name].append(time.process_time() - c)

    rows = []
    for name in spec["variants"]:
        row = {"model": model_name, "batch": batch, "variant": name, "load": load, **info.get(name, {})}
        if name in fns:
            row.update(
                best_seq_s=batch / min(wall[name]),
                median_seq_s=batch / statistics.median(wall[name]),
                cpu_ms=1000 * min(cpu[name]),
            )
            print(f"{tag} {model_name} b{batch} {name:17s} best {row['best_seq_s']:7.1f} seq/s  "
                  f"median {row['median_seq_s']:7.1f}", flush=True)
        if name == "torch":
            attn = getattr(models["hf"].config, "_attn_implementation", "?")
            row["note"] = f"attn={attn}, threads={torch.get_num_threads()}"
        rows.append(row)
    return rows


def worker(spec):
    import numpy as np
    import tensorflow as tf

    if spec["tf_intra"] or spec["tf_inter"]:
        tf.config.threading.set_intra_op_parallelism_threads(spec["tf_intra"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["tf_inter"])
    import keras
    import keras_hub
    import torch
    import transformers

    torch.set_num_threads(spec["torch_threads"])
    transformers.utils.logging.disable_progress_bar()  # its bars would bury the progress lines
    versions = (f"tensorflow {tf.__version__}, keras {keras.__version__}, keras_hub {keras_hub.__version__}, "
                f"torch {torch.__version__}, transformers {transformers.__version__}, numpy {np.__version__}")
    tag = f"[{spec['config']}]"
    rows = []
    for model_name, path in spec["checkpoints"].items():
        t0 = time.perf_counter()
        models = load_models(path, spec["variants"])
        print(f"{tag} {model_name}: loaded in {time.perf_counter() - t0:.0f}s", flush=True)
        for batch in spec["batch_sizes"]:
            rows += bench_batch(spec, model_name, models, batch, tag)
        del models

    result = {"rows": rows, "versions": versions, "torch_threads": torch.get_num_threads()}
    if spec["flash_check"]:
        result["flash"] = check_flash_attention()
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
