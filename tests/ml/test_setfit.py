"""Contrastive (SetFit) fine-tuning on a tiny random MiniLM-shaped encoder: pair generation,
the loss going down, the stored model, progress, the time budget and cancellation."""

import json

import numpy as np
import pytest
import torch
from filament.ml.classifier import ClassifierModel, embed, load_model, predict_proba, save_model
from filament.ml.embedder import build_random
from filament.ml.finetune import FinetuneCancelled
from filament.ml.setfit import RECIPE, SetFitConfig, contrastive_finetune, sentence_pairs

WORDS = [
    ["sunny", "warm", "bright", "clear", "calm"],
    ["rain", "storm", "wet", "grey", "cold"],
    ["goal", "match", "score", "team", "league"],
]
# a random encoder cannot tell the topics apart; a few contrastive steps make it
FAST = SetFitConfig(pair_iterations=4, batch_size=8, lr=1e-3, max_length=16)


def topic_texts(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    Y = np.arange(n) % 3
    texts = [" ".join(rng.choice(WORDS[y], 4)) for y in Y.tolist()]
    return texts, Y


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    return build_random("minilm_l6", device="cpu")


def test_pairs_are_balanced_valid_and_deterministic() -> None:
    Y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3])  # label 3 has one row: no positive partner
    pairs = sentence_pairs(Y, False, iterations=5, seed=1)
    assert len(pairs) == 2 * 8 * 5  # every row but the singleton, one positive + one negative
    assert pairs.target.sum() == len(pairs) / 2
    assert (pairs.left != pairs.right).all()
    same = Y[pairs.left] == Y[pairs.right]
    np.testing.assert_array_equal(same, pairs.target == 1)
    assert 8 in pairs.right[pairs.target == 0]  # the singleton still serves as a negative
    again = sentence_pairs(Y, False, iterations=5, seed=1)
    np.testing.assert_array_equal(pairs.left, again.left)
    np.testing.assert_array_equal(pairs.right, again.right)
    other = sentence_pairs(Y, False, iterations=5, seed=2)
    assert not np.array_equal(pairs.right, other.right)
    capped = sentence_pairs(Y, False, iterations=5, seed=1, max_pairs=13)
    assert len(capped) == 12 and capped.target.sum() == 6  # cut at a whole anchor: still even


def test_multilabel_pairs_share_a_label() -> None:
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    pairs = sentence_pairs(Y, True, iterations=10, seed=0)
    overlap = (Y[pairs.left] & Y[pairs.right]).any(axis=1)
    empty = ~Y[pairs.left].any(axis=1) & ~Y[pairs.right].any(axis=1)
    np.testing.assert_array_equal(overlap | empty, pairs.target == 1)
    assert pairs.target.sum() == len(pairs) / 2 == 7 * 10


def test_contrastive_finetune_tunes_the_encoder(minilm) -> None:
    texts, Y = topic_texts(30)
    before = {k: v.clone() for k, v in minilm.module.state_dict().items()}
    events: list[dict] = []
    result = contrastive_finetune(minilm, texts, Y, False, 3, FAST, on_progress=events.append)
    metrics = result.metrics
    json.dumps(metrics)
    assert metrics["recipe"] == RECIPE and metrics["kind"] == "finetune"
    assert metrics["pair_loss_tuned"] < 0.5 * metrics["pair_loss_frozen"]
    assert metrics["train_size"] + metrics["val_size"] == 30 and metrics["val_size"] > 0
    assert metrics["pairs"] == 2 * metrics["train_size"] * 4
    assert metrics["steps"] == metrics["steps_planned"] == -(-metrics["pairs"] // 8)
    assert not metrics["stopped_by_time_budget"]
    assert result.primary_metric >= metrics["head_baseline"]  # epoch 0 is a candidate
    assert result.primary_metric == metrics["accuracy"] == 1.0 and metrics["best_epoch"] == 1
    assert [h["epoch"] for h in result.history] == [0, 1]
    # the shared embedder is untouched; the returned model's encoder is not
    for key, value in minilm.module.state_dict().items():
        assert torch.equal(value, before[key])
    model = result.model
    assert isinstance(model, ClassifierModel) and not model.training
    tuned = embed(model, minilm, texts)
    assert not np.allclose(tuned, minilm.embed_texts(texts), atol=1e-3)
    # stored and reloaded like any fine-tuned version: same probabilities
    probs = predict_proba(model, minilm, texts)
    np.testing.assert_allclose(
        predict_proba(load_model(save_model(model)), minilm, texts), probs, atol=1e-5
    )
    assert (probs.argmax(axis=1) == Y).mean() == 1.0
    train = [e for e in events if e["stage"] == "train"]
    assert [e["step"] for e in train] == list(range(1, metrics["steps"] + 1))
    assert train[-1]["progress"] == 1.0 and events[-1]["stage"] == "done"
    assert events[0]["stage"] == "frozen_head"


def test_multilabel_run(minilm) -> None:
    texts, y = topic_texts(24)
    Y = np.stack([y == 0, y == 1, (y == 1) | (y == 2)], axis=1).astype(np.int64)
    result = contrastive_finetune(minilm, texts, Y, True, 3, FAST)
    assert result.metrics["primary"] == "micro_f1"
    assert result.metrics["pair_loss_tuned"] < result.metrics["pair_loss_frozen"]
    assert predict_proba(result.model, minilm, texts).shape == (24, 3)


def test_time_budget_shrinks_the_schedule(minilm) -> None:
    texts, Y = topic_texts(30)
    config = SetFitConfig(pair_iterations=4, batch_size=8, max_length=16, time_budget_s=0.0)
    events: list[dict] = []
    result = contrastive_finetune(minilm, texts, Y, False, 3, config, on_progress=events.append)
    # 5 steps are timed before the budget applies; then it allows one more
    assert result.metrics["steps"] == 6 < result.metrics["steps_planned"]
    assert result.metrics["stopped_by_time_budget"]
    train = [e for e in events if e["stage"] == "train"]
    assert train[-1]["steps"] == 6 and train[-1]["progress"] == 1.0


def test_max_steps_lowers_the_pair_iterations(minilm) -> None:
    texts, Y = topic_texts(30)
    config = SetFitConfig(pair_iterations=20, batch_size=8, max_length=16, max_steps=12)
    result = contrastive_finetune(minilm, texts, Y, False, 3, config)
    train_size = result.metrics["train_size"]
    assert result.metrics["pair_iterations"] == 12 * 8 // (2 * train_size)
    assert result.metrics["steps"] <= 12


def test_should_stop_cancels(minilm) -> None:
    texts, Y = topic_texts(12)
    calls: list[int] = []

    def stop_on_fifth() -> bool:
        calls.append(1)
        return len(calls) >= 5

    with pytest.raises(FinetuneCancelled):
        contrastive_finetune(minilm, texts, Y, False, 3, FAST, should_stop=stop_on_fifth)
    assert len(calls) == 5


def test_refuses_images_and_bad_labels(minilm) -> None:
    resnet = build_random("resnet18", device="cpu", image_size=32)
    with pytest.raises(ValueError, match="text encoder"):
        contrastive_finetune(resnet, ["a", "b"], np.array([0, 1]), False, 2, FAST)
    with pytest.raises(ValueError, match="label indices"):
        contrastive_finetune(minilm, ["a", "b"], np.array([0, 2]), False, 2, FAST)
    with pytest.raises(ValueError, match="inputs"):
        contrastive_finetune(minilm, ["a"], np.array([0, 1]), False, 2, FAST)
