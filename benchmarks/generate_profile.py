"""Where `BertEncoderDecoder.generate`'s time goes: a per-op profile of one call, from TensorFlow's profiler.

Builds a BERT2BERT of all-MiniLM-L6-v2's shape (random weights), traces `--calls` calls of `model.generate` (128-token
source, exactly 32 new tokens) with `tf.profiler`, reads the trace's `.xplane.pb` and prints, per op type, the time
per call, how many times it ran per call and its mean cost per run. 2 intra-op / 1 inter-op threads, as
`generate.py` times it. The profiler adds its own overhead to every op: compare op types, not totals, with
`generate.py`'s tokens/s.

    python benchmarks/generate_profile.py                       # batch 1, greedy
    python benchmarks/generate_profile.py --batch 16 --beams 4 --top 15
"""

import argparse
import collections
import glob
import tempfile


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--calls", type=int, default=3, help="traced calls (after two untraced ones)")
    parser.add_argument("--top", type=int, default=12, help="op types to print")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import numpy as np
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    import keras_bert_zoo as kbz

    model = kbz.BertEncoderDecoder(kbz.BertEncoder(30522, 6, 12, 384, 1536, max_sequence_length=512))
    ids = np.random.default_rng(0).integers(1000, 30000, (args.batch, 128)).astype("int32")
    inputs = {"encoder_token_ids": ids, "encoder_padding_mask": np.ones_like(ids)}

    def generate():
        return model.generate(inputs, max_length=33, min_length=33, num_beams=args.beams, start_token_id=101,
                              end_token_id=102)

    generate(), generate()
    folder = tempfile.mkdtemp(prefix="generate_profile.")
    tf.profiler.experimental.start(folder)
    for _ in range(args.calls):
        generate()
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    space.ParseFromString(open(sorted(glob.glob(f"{folder}/**/*.xplane.pb", recursive=True))[-1], "rb").read())
    picoseconds, runs = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor's op kernels
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name.split(":")[-1]
                picoseconds[name] += event.duration_ps
                runs[name] += 1
    picoseconds.pop("Process", None)  # the executor's whole-graph span, not an op
    print(f"batch {args.batch}, beams {args.beams}, 32 new tokens: op type, ms per call, runs per call, us per run")
    for name, total in picoseconds.most_common(args.top):
        per_call = total / 1e9 / args.calls
        print(f"  {name:32s} {per_call:8.2f} ms {runs[name] / args.calls:8.0f} x {total / 1e6 / runs[name]:8.1f} us")


if __name__ == "__main__":
    main()
