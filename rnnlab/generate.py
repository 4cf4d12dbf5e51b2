"""Let a trained next-token model write: the distribution of the next token, top-k, temperature, a seeded sampler,
and generation step by step with the distribution each step drew from.

    from rnnlab.generate import next_token_distribution, top_k, generate
    probabilities = next_token_distribution(model, vocabulary, "The cat sat on the")  # (vocabulary,), sums to 1
    top_k(probabilities, 5)                       # [(token id, probability), ...], most likely first
    result = generate(model, vocabulary, "The cat sat on the", length=20, temperature=0.8, seed=0)
    result.text                                   # the prompt and its continuation
    result.steps[0].drawn_from                    # what the first token was drawn from (temperature applied)

`vocabulary` is a `rnnlab.data.vocabulary.Vocabulary` (`vocabulary_of(dataset)`, or `rnnlab.saving.load_model(path)
.vocabulary`). The model reads the prompt from a zero state, as it read each training window, then one token at a
time with its state carried along: each recurrent layer's own Keras cell is stepped inside one `tf.function`, so a
continuation of n tokens costs n steps (about a millisecond each for an LSTM(128) on two cores), not n².
Probabilities are the softmax of the model's logits; they agree with `model.predict` on the same tokens to ~1e-6.

Temperature τ divides the logits before the softmax: below 1 it sharpens the distribution towards the most likely
token, above 1 it flattens it, and τ = 0 means greedy: always the most likely token. The same seed gives the same
text. The sampler never draws padding or [UNK] (`never_drawn`): they are not text, and [UNK] was written on screen as
"�". Their probability is set to 0 and the rest renormalised before the temperature; `Step.probabilities` keeps
the model's own softmax, those two included.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np
import tensorflow as tf

from rnnlab.data.vocabulary import PAD, UNKNOWN, Vocabulary
from rnnlab.introspect import layers

# One reader per model, kept while the model lives (the weak key lets a deleted run's model be collected).
_READERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis, in float64 (they sum to 1 to ~1e-15)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The distribution a sampler at `temperature` draws from: softmax(log p / τ); τ = 0 puts everything on the
    most likely token (the lowest id among ties)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"The temperature must be 0 or more, not {temperature!r}; 0 picks the most likely token.")
    if temperature == 0:
        greedy = np.zeros_like(probabilities)
        greedy[int(np.argmax(probabilities))] = 1.0
        return greedy
    with np.errstate(divide="ignore"):
        return softmax(np.log(probabilities) / temperature)


def top_k(probabilities: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The `k` most likely tokens as (token id, probability), most likely first (ties: the lower id first)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}.")
    order = np.lexsort((np.arange(probabilities.size), -probabilities))[:k]
    return [(int(token), float(probabilities[token])) for token in order]


class Reader:
    """Reads tokens into a model one at a time, carrying each recurrent layer's state: `read` a prompt from the
    zero state, then `step` one token at a time. Works for the models RNN Lab builds for text and any chain of
    Embedding, forward SimpleRNN/LSTM/GRU layers, Dropout and Dense."""

    def __init__(self, model) -> None:
        self.chain = layers.model_chain(model)
        self.cells = []
        for layer in self.chain:
            if layers.is_recurrent(layer):
                directions = layers.directions(layer)
                if len(directions) > 1:
                    raise ValueError(f"Layer '{layer.name}' is bidirectional, so it reads the future; a model that "
                                     "writes text one token at a time can only read the past.")
                self.cells.append(directions[0][1].cell)
        self._step = tf.function(self._step_function, reduce_retracing=True, autograph=False)

    def _step_function(self, tokens, states):
        values, new_states, index = tokens, [], 0  # tokens: (batch,) ids
        for layer in self.chain:
            if layers.is_recurrent(layer):
                values, state = self.cells[index](values, states[index], training=False)  # (batch, units)
                new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
                index += 1
            else:
                values = layer(values, training=False)  # Embedding: (batch, dim); Dense: (batch, vocabulary)
        return values, new_states

    def zero_state(self) -> list:
        return [[tf.convert_to_tensor(part) for part in cell.get_initial_state(batch_size=1)] for cell in self.cells]

    def step(self, token: int, states: list) -> tuple[np.ndarray, list]:
        """Read one more token: (the logits for the token after it `(vocabulary,)`, the new states)."""
        logits, states = self._step(tf.constant([int(token)], dtype=tf.int32), states)
        return logits.numpy()[0], states

    def read(self, ids) -> tuple[np.ndarray, list]:
        """Read a whole prompt from the zero state: (the logits after its last token, the states)."""
        states, logits = self.zero_state(), None
        for token in np.ravel(ids):
            logits, states = self.step(int(token), states)
        if logits is None:
            raise ValueError("There is nothing to read: the prompt has no tokens.")
        return logits, states


def reader(model) -> Reader:
    """The model's `Reader`, traced once per model."""
    if model not in _READERS:
        _READERS[model] = Reader(model)
    return _READERS[model]


def next_token_distribution(model, vocabulary: Vocabulary, prompt: str) -> np.ndarray:
    """P(next token | prompt) `(vocabulary,)`: the softmax of the model's logits after reading the prompt."""
    logits, _ = reader(model).read(vocabulary.read(prompt))
    return softmax(logits)


@dataclasses.dataclass
class Step:
    """One generated token: what the model said (`probabilities`), what the sampler drew from (`drawn_from`, the
    temperature applied), and the token it drew."""

    token: int
    probabilities: np.ndarray  # (vocabulary,): the model's softmax at this step
    drawn_from: np.ndarray  # (vocabulary,): the same with the temperature applied

    @property
    def probability(self) -> float:
        """The model's probability of the token drawn."""
        return float(self.probabilities[self.token])


@dataclasses.dataclass
class Generation:
    """A prompt and what the model wrote after it, step by step."""

    vocabulary: Vocabulary
    prompt_ids: np.ndarray  # (prompt tokens,)
    steps: list[Step]
    temperature: float
    seed: int

    @property
    def tokens(self) -> list[int]:
        return [step.token for step in self.steps]

    @property
    def continuation(self) -> str:
        """The generated tokens as text (for words, with the space that separates them from the prompt)."""
        text = self.vocabulary.decode(self.tokens)
        return (" " + text if text and self.vocabulary.level == "word" else text)

    @property
    def text(self) -> str:
        """The prompt as the model read it, and its continuation."""
        return self.vocabulary.decode(self.prompt_ids) + self.continuation


def never_drawn(vocabulary: Vocabulary) -> np.ndarray:
    """The ids the sampler never draws: padding and [UNK], which are not text a learner could read."""
    return np.array([index for index, token in enumerate(vocabulary.tokens) if token in (PAD, UNKNOWN)], dtype=int)


def drawable(probabilities: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    """`probabilities` with padding and [UNK] set to 0 and the rest renormalised to sum to 1."""
    kept = np.asarray(probabilities, dtype=np.float64).copy()
    kept[never_drawn(vocabulary)] = 0.0
    total = kept.sum()
    if total <= 0:  # the model puts everything on tokens that are not text: draw evenly among the rest
        kept = np.ones_like(kept)
        kept[never_drawn(vocabulary)] = 0.0
        total = kept.sum()
    return kept / total


def generate(model, vocabulary: Vocabulary, prompt: str, length: int = 30, temperature: float = 1.0,
             seed: int = 0) -> Generation:
    """Write `length` tokens after `prompt`, each drawn from the model's distribution at `temperature` with a
    generator seeded by `seed` (τ = 0: greedy), never padding or [UNK]; every step keeps the distribution it drew
    from. The prompt's state is carried into the first step and each step's into the next, so step k's distribution
    is the one a fresh read of the prompt and the k − 1 tokens drawn before it gives."""
    if length < 0:
        raise ValueError(f"The length must be 0 or more tokens, not {length}.")
    with_temperature(np.ones(1), temperature)  # checks the temperature before any work
    ids = vocabulary.read(prompt)
    model_reader = reader(model)
    logits, states = model_reader.read(ids)
    rng = np.random.default_rng(seed)
    steps = []
    for number in range(length):
        probabilities = softmax(logits)
        drawn_from = with_temperature(drawable(probabilities, vocabulary), temperature)
        token = int(np.argmax(drawn_from)) if temperature == 0 else int(rng.choice(drawn_from.size, p=drawn_from))
        steps.append(Step(token=token, probabilities=probabilities, drawn_from=drawn_from))
        if number < length - 1:
            logits, states = model_reader.step(token, states)
    return Generation(vocabulary=vocabulary, prompt_ids=ids, steps=steps, temperature=temperature, seed=seed)
