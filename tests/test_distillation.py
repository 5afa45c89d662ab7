"""kbz.compress distillation: each loss equals its formula written in PyTorch (1e-6), the hidden states and
attention probabilities we read equal transformers' (output_hidden_states / output_attentions), students
start as exact copies of the chosen teacher layers for every family and head, and a few `fit` steps of the
Distiller lower its loss, train only the student, which saves to `.keras` and loads back."""

import keras
import numpy as np
import pytest
import torch
import transformers
from helpers import padded_inputs, perturbed_hf_model, torch_inputs

import keras_bert_zoo as kbz
from keras_bert_zoo.compress import (
    Distiller,
    attention_loss,
    hidden_state_loss,
    random_student,
    soft_target_loss,
    span_soft_target_loss,
    student_from_backbone,
    student_from_layers,
    with_intermediate_outputs,
)
from keras_bert_zoo.models.albert import AlbertEncoder
from keras_bert_zoo.models.deberta import DebertaV3Encoder
from keras_bert_zoo.models.distilbert import DistilBertEncoder
from keras_bert_zoo.models.electra import ElectraEncoder
from keras_bert_zoo.models.roberta import RobertaEncoder

F = torch.nn.functional
RNG = np.random.default_rng(0)
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], "int32")


def t(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


def close(ours, reference):
    np.testing.assert_allclose(float(ours), float(reference), rtol=0, atol=1e-6)


def kl(p, log_p, log_q, dim=-1):
    """Σ p (log p - log q) over `dim`, entries of p = 0 counting 0."""
    return torch.where(p > 0, p * (log_p - log_q), 0.0).sum(dim)


def kl_rows(teacher, student, temperature, dim=-1):
    """KL(softmax(teacher/T) || softmax(student/T)) * T² per row, in float64."""
    log_p, log_q = (F.log_softmax(t(x) / temperature, dim=dim) for x in (teacher, student))
    return kl(log_p.exp(), log_p, log_q, dim) * temperature**2


# ------------------------------------------------------------------------------------------------- losses


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_soft_target_losses_equal_the_torch_formulas(temperature):
    teacher, student = RNG.normal(size=(2, 3, 5, 4)).astype("float32")  # [batch, seq, classes]
    mask = t(MASK)
    per_token = kl_rows(teacher, student, temperature)
    close(soft_target_loss(teacher[:, 0], student[:, 0], temperature), per_token[:, 0].mean())  # per example
    close(soft_target_loss(teacher, student, temperature, MASK), (per_token * mask).sum() / mask.sum())
    entropy = -(F.softmax(t(teacher) / temperature, -1) * F.log_softmax(t(teacher) / temperature, -1)).sum(-1)
    cross_entropy = (per_token + entropy * temperature**2) * mask
    close(soft_target_loss(teacher, student, temperature, MASK, kind="cross_entropy"), cross_entropy.sum() / mask.sum())
    # MLM-aware: only the masked positions' weights count, padded positions (weight 0) do not.
    weights = np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]], "float32")
    close(soft_target_loss(teacher, student, temperature, weights), (per_token * t(weights)).sum() / weights.sum())
    # Span ends: distributions over the real tokens only.
    start_t, start_s = teacher[..., 0], student[..., 0]
    fill = mask == 0
    reference = kl_rows(t(start_t).masked_fill(fill, -np.inf), t(start_s).masked_fill(fill, -np.inf), temperature)
    close(span_soft_target_loss(start_t, start_s, MASK, temperature), reference.mean())
    with pytest.raises(ValueError, match="kind"):
        soft_target_loss(teacher, student, kind="mse")


def test_hidden_state_and_attention_losses_equal_the_torch_formulas():
    teacher, student = RNG.normal(size=(2, 3, 5, 8)).astype("float32")
    mask = t(MASK)
    mse = ((t(student) - t(teacher)) ** 2).mean(-1)
    close(hidden_state_loss(teacher, student, MASK), (mse * mask).sum() / mask.sum())
    cosine = 1 - F.cosine_similarity(t(student), t(teacher), dim=-1)
    close(hidden_state_loss(teacher, student, MASK, kind="cosine"), (cosine * mask).sum() / mask.sum())
    # Attention rows over the real keys, as the encoders give them (padded keys get probability 0).
    scores_t, scores_s = RNG.normal(size=(2, 3, 2, 5, 5)) * 2
    keys = t(MASK)[:, None, None, :] == 0
    p_t = F.softmax(t(scores_t).masked_fill(keys, -np.inf), -1)
    p_s = F.softmax(t(scores_s).masked_fill(keys, -np.inf), -1)
    per_query = kl(p_t, p_t.log(), p_s.log()).mean(1)
    close(attention_loss(p_t.numpy().astype("float32"), p_s.numpy().astype("float32"), MASK),
          (per_query * mask).sum() / mask.sum())
    with pytest.raises(ValueError, match="2 heads, the student 1"):
        attention_loss(p_t.numpy(), p_s.numpy()[:, :1], MASK)


# ------------------------------------------------------------------------- hidden states and attention


@pytest.mark.parametrize("name", ["bert", "deberta"])
def test_intermediate_outputs_equal_transformers_hidden_states_and_attentions(name, tmp_path):
    if name == "bert":
        config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         intermediate_size=37, attn_implementation="eager")
        theirs, inputs = perturbed_hf_model(transformers.BertForSequenceClassification, config), padded_inputs()
    else:
        config = transformers.DebertaV2Config(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                              intermediate_size=37, max_position_embeddings=64, position_buckets=8,
                                              pos_att_type="p2c|c2p", norm_rel_ebd="layer_norm", type_vocab_size=0,
                                              relative_attention=True, share_att_key=True,
                                              position_biased_input=False, layer_norm_eps=1e-7,
                                              attn_implementation="eager")
        theirs = perturbed_hf_model(transformers.DebertaV2ForSequenceClassification, config)
        inputs = padded_inputs(seq=20, segments=False, left=True)
    theirs.save_pretrained(tmp_path)
    ours = with_intermediate_outputs(kbz.load(tmp_path))(inputs)
    with torch.no_grad():
        reference = theirs(**torch_inputs(inputs), output_hidden_states=True, output_attentions=True)
    real = inputs["padding_mask"].astype(bool)
    assert len(ours["hidden_states"]) == len(reference.hidden_states) == 3
    for mine, their in zip(ours["hidden_states"], reference.hidden_states):
        assert np.abs(np.asarray(mine) - their.numpy())[real].max() <= 1e-5
    for mine, their in zip(ours["attention_probabilities"], reference.attentions):  # real query rows, every key
        assert np.abs(np.asarray(mine) - their.numpy()).transpose(0, 2, 1, 3)[real].max() <= 1e-5
    assert np.abs(np.asarray(ours["outputs"]) - reference.logits.numpy()).max() <= 1e-5


# ------------------------------------------------------------------------------------------------ students


def bert_inputs(encoder, choices=None):
    inputs = padded_inputs(batch=3, seq=7, vocabulary_size=encoder.vocabulary_size, segments="segment_ids" in
                           encoder.input)
    inputs = {key: value for key, value in inputs.items() if key in encoder.input}
    return inputs if choices is None else {key: np.stack([value] * choices, 1) for key, value in inputs.items()}


def test_a_student_from_layers_computes_the_chosen_teacher_layers():
    """The student of blocks [1, 3] equals running the teacher's embeddings, blocks 1 and 3 and head by hand."""
    kbz_teacher = kbz.BertClassifier(kbz.BertEncoder(99, 4, 2, 32, 64, dropout=0.0), num_classes=3, dropout=0.0)
    inputs = bert_inputs(kbz_teacher.encoder)
    kbz_teacher.trainable = False  # as a Distiller leaves it: its students train all the same
    student = student_from_layers(kbz_teacher, [1, 3])
    assert student.encoder.trainable and len(student.trainable_weights) == len(student.weights)
    encoder = kbz_teacher.encoder
    x = with_intermediate_outputs(kbz_teacher)(inputs)["hidden_states"][0]  # the embeddings' output
    for i in (1, 3):
        x = encoder.transformer_layers[i](x, padding_mask=inputs["padding_mask"])
    by_hand = kbz_teacher.get_layer("logits")(encoder.pooled_dense(x[:, 0, :]))
    np.testing.assert_array_equal(np.asarray(student(inputs)), np.asarray(by_hand))
    assert student.encoder.num_layers == 2 and student.num_classes == 3
    assert len(student.weights) == len(kbz_teacher.weights) - 2 * len(encoder.transformer_layers[0].weights)
    with pytest.raises(ValueError, match="0 to 3"):
        student_from_layers(kbz_teacher, [1, 4])


FAMILIES = [  # each family with one of the heads, every head at least once
    (lambda: RobertaEncoder(99, 4, 2, 32, 64), lambda e: kbz.BertClassifier(e, num_classes=2)),
    (lambda: DistilBertEncoder(99, 4, 2, 32, 64), lambda e: kbz.BertTokenClassifier(e, num_classes=3)),
    (lambda: AlbertEncoder(99, 4, 2, 32, 64, embedding_dim=16), lambda e: kbz.BertSpanQA(e)),
    (lambda: ElectraEncoder(99, 4, 2, 32, 64, embedding_dim=16), lambda e: kbz.BertMultipleChoice(e, num_choices=2)),
    (lambda: DebertaV3Encoder(99, 4, 2, 32, 64, position_buckets=8), lambda e: kbz.BertClassifier(e, num_classes=2)),
]


@pytest.mark.parametrize("make_encoder, make_task", FAMILIES)
def test_students_of_every_family_and_head_start_from_the_teacher(make_encoder, make_task):
    teacher = make_task(make_encoder())
    student = student_from_layers(teacher, [0, 2])
    inputs = bert_inputs(teacher.encoder, choices=2 if isinstance(teacher, kbz.BertMultipleChoice) else None)
    assert type(student) is type(teacher) and student.encoder.num_layers == 2
    names = {w.path: np.asarray(w) for w in student.encoder.weights}
    teacher_names = {w.path: np.asarray(w) for w in teacher.encoder.weights}
    for path, value in names.items():
        if "transformer_layer_1" in path:  # student block 1 is teacher block 2
            np.testing.assert_array_equal(value, teacher_names[path.replace("layer_1", "layer_2")])
        elif "transformer_layer" not in path or "transformer_layer_0" in path:
            np.testing.assert_array_equal(value, teacher_names[path])
    ours, theirs = student(inputs), teacher(inputs)
    assert [np.shape(x) for x in np.atleast_1d(ours)] == [np.shape(x) for x in np.atleast_1d(theirs)] or (
        isinstance(ours, dict) and {k: ours[k].shape for k in ours} == {k: theirs[k].shape for k in theirs})


def test_random_and_smaller_backbone_students_keep_the_head_class():
    teacher = kbz.BertTokenClassifier(kbz.BertEncoder(99, 4, 4, 32, 64), num_classes=5, label_names=list("abcde"))
    student = random_student(teacher, num_layers=2, hidden_dim=16, intermediate_dim=32)
    assert (student.encoder.num_layers, student.encoder.hidden_dim, student.label_names) == (2, 16, list("abcde"))
    small = kbz.BertEncoder(99, 1, 2, 8, 16)
    assert student_from_backbone(teacher, small).encoder is small
    with pytest.raises(ValueError, match="not config keys"):
        random_student(teacher, layers=2)
    with pytest.raises(ValueError, match="same preprocessed inputs"):
        student_from_backbone(teacher, RobertaEncoder(99, 1, 2, 8, 16))


# ----------------------------------------------------------------------------------------------- distiller


@pytest.fixture(scope="module")
def sentences():


    keras.utils.set_random_seed(1)
    inputs = padded_inputs(batch=16, seq=10, vocabulary_size=99)
    labels = np.random.default_rng(1).integers(0, 2, size=16)
    return inputs, labels


def test_distiller_fit_lowers_every_term_trains_only_the_student_and_it_saves(sentences, tmp_path):


    inputs, labels = sentences
    teacher = kbz.BertClassifier(kbz.BertEncoder(99, 4, 2, 32, 64, dropout=0.0), num_classes=2, dropout=0.0)
    logits = teacher.get_layer("logits")
    logits.kernel.assign(logits.kernel * 100)  # a confident teacher: soft targets far from a random student's
    student = random_student(teacher, num_layers=2)
    frozen = [np.asarray(w) for w in teacher.weights]
    distiller = Distiller(teacher, student, alpha=0.1, temperature=2.0, hidden_weight=1.0, attention_weight=1.0)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = distiller.fit(inputs, labels, batch_size=16, epochs=4, verbose=0).history
    for term in ("loss", "soft_loss", "hidden_loss", "attention_loss"):
        assert history[term][-1] < history[term][0], (term, history[term])
    assert "accuracy" in history
    assert all(np.array_equal(before, np.asarray(w)) for before, w in zip(frozen, teacher.weights))
    np.testing.assert_allclose(distiller.predict(inputs, verbose=0), np.asarray(student(inputs)), atol=1e-6)
    student.save(tmp_path / "student.keras")
    np.testing.assert_array_equal(np.asarray(kbz.load(tmp_path / "student.keras")(inputs)), np.asarray(student(inputs)))


def test_distiller_soft_term_is_the_soft_target_loss_and_narrow_students_get_a_projection(sentences):


    inputs, labels = sentences
    teacher = kbz.BertSpanQA(kbz.BertEncoder(99, 2, 2, 32, 64, dropout=0.0))
    student = random_student(teacher, num_layers=1, hidden_dim=16, intermediate_dim=32)
    distiller = Distiller(teacher, student, alpha=0.0, temperature=3.0, hidden_weight=1.0, hidden_loss="cosine")
    assert distiller.projection is not None and distiller.layer_map == [1]
    distiller.compile(optimizer="adam")
    ends = {"start_logits": labels, "end_logits": labels}
    result = distiller.evaluate(inputs, ends, verbose=0, return_dict=True)
    t_out, s_out = teacher(inputs), student(inputs)
    expected = np.mean([span_soft_target_loss(t_out[k], s_out[k], inputs["padding_mask"], 3.0) for k in ends])
    np.testing.assert_allclose(result["soft_loss"], expected, atol=1e-6)
    history = distiller.fit(inputs, ends, batch_size=16, epochs=4, verbose=0).history
    assert history["hidden_loss"][-1] < history["hidden_loss"][0]
    with pytest.raises(ValueError, match="equal head counts"):
        Distiller(teacher, random_student(teacher, num_heads=4), attention_weight=1.0)
    with pytest.raises(TypeError, match="same head"):
        Distiller(teacher, kbz.BertClassifier(student.encoder, num_classes=2))
