"""The TFLite converter's expected custom-op warning becomes one line on how to run the file."""

import json
import os
import subprocess
import sys

from helpers import tiny_vocabulary

from keras_bert_zoo.export.tflite_export import _without_custom_ops_warning

WARNING = """\
I0000 00:00:1796177722.061165    1475 dump_mlir_util.cc:269] disabling MLIR crash reproducer.
W0000 00:00:17.2 1475 flatbuffer_export.cc:4248] The following operation(s) need TFLite custom op implementation(s):
Custom ops: FastBertNormalize, FastWordpieceTokenizeWithOffsets, RaggedTensorToTensor
Details:
\ttf.FastBertNormalize(tensor<?x!tf_type.string>, tensor<239196xui8>) -> (tensor<?x!tf_type.string>) : {device = ""}
\ttf.FastWordpieceTokenizeWithOffsets(tensor<?x!tf_type.string>, tensor<354400xui8>) -> (tensor<?x!tf_type.string>)
\ttf.RaggedTensorToTensor(tensor<2xi64>, tensor<?xi32>, tensor<i32>, tensor<?xi64>) -> (tensor<?x6xi32>) : {T = i32}
See instructions: https://www.tensorflow.org/lite/guide/ops_custom
ValueError: something else
"""


def test_the_tensorflow_text_ops_warning_is_taken_out():
    kept, ops = _without_custom_ops_warning(WARNING + WARNING)  # int8 converts twice
    assert ops == ["FastBertNormalize", "FastWordpieceTokenizeWithOffsets", "RaggedTensorToTensor"]
    first, last = WARNING.splitlines(True)[0], WARNING.splitlines(True)[-1]
    assert kept == first + last + first + last


def test_a_warning_about_other_ops_is_kept():
    other = WARNING.replace("Custom ops: FastBertNormalize", "Custom ops: FastBertNormalize, MyOp")
    assert _without_custom_ops_warning(other) == (other, [])
    flex = WARNING.replace("Details:", "Flex ops: FlexAddV2\nDetails:")
    assert _without_custom_ops_warning(flex) == (flex, [])
    assert _without_custom_ops_warning("no warning\n") == ("no warning\n", [])


SCRIPT = """
import json, keras, keras_bert_zoo as kbz, sys
vocab = json.loads(sys.argv[2])
model = kbz.BertClassifier(kbz.BertEncoder(len(vocab), 1, 2, 8, 16, max_sequence_length=8), num_classes=2,
                           preprocessor=kbz.BertPreprocessor(kbz.BertTokenizer(vocab), sequence_length=8))
kbz.export.tflite(model, sys.argv[1])
"""


def test_a_real_conversion_says_one_line_instead(tmp_path):
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}  # the warning shows
    path = tmp_path / "m.tflite"
    err = subprocess.run([sys.executable, "-c", SCRIPT, str(path), json.dumps(tiny_vocabulary("good"))], env=env,
                         capture_output=True, text=True, check=True).stderr
    assert "need TFLite custom op implementation" not in err and "ops_custom" not in err
    assert (f"note: m.tflite uses the TFLite custom ops FastBertNormalize, FastWordpieceTokenizeWithOffsets, "
            f"RaggedTensorToTensor, whose kernels tensorflow-text ships: run it with "
            f"kbz.export.tflite_interpreter({str(path)!r}).") in err.splitlines()
