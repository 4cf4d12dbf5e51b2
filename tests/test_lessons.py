"""Lessons read into blocks (`rnnlab.lessons`): presets, display maths, and predictions decided by the runs."""

import re
from pathlib import Path

import pytest

from rnnlab.config import RunConfig
from rnnlab.lessons import Answer, Quiz, all_lessons, read_lesson
from rnnlab.records import RunRecord

ROOT = Path(__file__).resolve().parents[1]


def lesson(tmp_path, text):
    path = tmp_path / "99_test.md"
    path.write_text(text)
    return read_lesson(path)


def test_every_lesson_reads_and_every_preset_is_a_valid_link():
    lessons = all_lessons()
    assert len(lessons) >= 2
    for each in lessons:
        assert each.title and each.blocks
        for preset in each.presets():
            preset.config  # noqa: B018 - raises ValueError naming the setting if the link is bad
        for quiz in each.quizzes():
            assert quiz.presets()


def test_display_maths_becomes_its_own_block_even_across_lines(tmp_path):
    read = lesson(tmp_path, "# T\n\nBefore $x$.\n\n$$a = b\\,\n\\operatorname{diag}(c)$$\n\nAfter.\n")
    assert [block.kind for block in read.blocks] == ["markdown", "math", "markdown"]
    assert read.blocks[1].text == "a = b\\, \\operatorname{diag}(c)"
    assert "$x$" in read.blocks[0].text  # inline maths stays in the Markdown


QUIZ = """# Q

```quiz
Which cell ends with the lowest validation loss?
lowest val_loss
- SimpleRNN | task=adding&cell=simplernn
- GRU | task=adding&cell=gru
why: Gates keep the marked values.
```

```quiz
Does a SimpleRNN learn it?
learns task=adding&cell=simplernn
- Yes | yes
- No | no
```
"""


def finished(cell, val_loss, baseline=0.155, params=100):
    return RunRecord(RunConfig(task="adding", cell=cell), status="finished", baseline_loss=baseline, params=params,
                     history={"loss": [val_loss], "val_loss": [val_loss]})


def test_a_quiz_is_decided_by_the_runs_not_by_the_lesson(tmp_path):
    first, second = lesson(tmp_path, QUIZ).quizzes()
    assert (first.number, second.number) == (1, 2) and first.why == "Gates keep the marked values."
    assert [config.cell for config in first.presets()] == ["simplernn", "gru"]
    answer, sentence = first.decide([finished("simplernn", 0.147), finished("gru", 0.0026)])
    assert answer.label == "GRU" and sentence == ("Measured: SimpleRNN 0.147, GRU 0.0026 (validation loss after the "
                                                 "last epoch).")
    # Had the runs come out the other way, the other answer would be right: nothing is hard-coded.
    assert first.decide([finished("simplernn", 0.01), finished("gru", 0.1)])[0].label == "SimpleRNN"
    assert second.presets() == [RunConfig.from_query({"cell": "simplernn"}, base=second.presets()[0])]
    assert second.decide([finished("simplernn", 0.147)])[0].key == "no"
    answer, sentence = second.decide([finished("simplernn", 0.05)])
    assert answer.key == "yes" and "32% of it" in sentence


def test_runs_that_cannot_decide_say_so():
    quiz = Quiz("?", "lowest val_loss", [Answer("A", "task=adding"), Answer("B", "task=adding&cell=gru")], number=1)
    diverged = finished("lstm", float("nan"))
    assert quiz.decide([diverged, finished("gru", 0.1)]) == (
        None, "Measured: A no result, B 0.1. A run without a result cannot be compared, so this one is undecided.")
    assert quiz.decide([finished("lstm", 0.1), finished("gru", 0.1)])[0] is None  # a tie


@pytest.mark.parametrize("body, words", [
    ("Q?\nlowest val_loss\n- A | task=adding", "two to four answers"),
    ("Q?\nbiggest val_loss\n- A | task=adding\n- B | task=sine", "must start with one of"),
    ("Q?\nlowest val_loss\n- A task=adding\n- B | task=sine", "'- label | preset'"),
    ("Q?\nlearns task=adding\n- Yes | yes\n- Maybe | maybe", "one answer keyed 'yes'"),
    ("Q?\nlowest val_loss\n- A | task=adding&units=lots\n- B | task=sine", "Units per layer must be a whole number"),
])
def test_a_malformed_quiz_names_the_lesson_and_the_problem(tmp_path, body, words):
    with pytest.raises(ValueError, match=words) as error:
        lesson(tmp_path, f"# Q\n\n```quiz\n{body}\n```\n")
    assert "99_test.md" in str(error.value) or "Units" in str(error.value)


def test_a_parameter_question_is_decided_by_exact_counts_without_training():
    from rnnlab.models import untrained_model

    for lesson in all_lessons():
        for quiz in lesson.quizzes():
            if quiz.needs_training:
                continue
            answer, sentence = quiz.decide_by_counting()
            for config, label in zip(quiz.presets(), (answer.label for answer in quiz.answers)):
                if config.task != "imdb":  # Keras's IMDB cannot be downloaded here; its count is tested on a file
                    count = untrained_model(config.replace(samples=16))[0].count_params()
                    assert f"{label} {count:,}" in sentence, (lesson.name, sentence)


# --- Predict, then run: what a quiz decides stays hidden until it is decided (issue 18.2) ---------------------------

def test_a_reveal_block_belongs_to_the_quiz_above_it_and_is_hidden_until_then(tmp_path):
    read = lesson(tmp_path, QUIZ.replace("why: Gates keep the marked values.\n```\n",
                                         "why: Gates keep the marked values.\n```\n\n```reveal\nThe GRU won: "
                                         "0.0026.\n\n$$a = b$$\n```\n\nAfter.\n"))
    assert [(block.kind, block.after_quiz) for block in read.blocks] == [
        ("markdown", 0), ("quiz", 0), ("markdown", 1), ("math", 1), ("markdown", 0), ("quiz", 0)]
    assert "GRU won" not in " ".join(block.text for block in read.shown())
    assert [block.text for block in read.shown({1})] == [block.text for block in read.blocks]
    assert [block.kind for block in read.revealed_by(1)] == ["markdown", "math"] and not read.revealed_by(2)
    with pytest.raises(ValueError, match="no quiz above it"):
        lesson(tmp_path, "# R\n\n```reveal\nToo early.\n```\n")


# Per quiz, the verdict its lesson measured, in the lesson's own words: each must be in that quiz's reveal (so the
# list stays true) and nowhere in the lesson as shown before the quiz is decided.
VERDICTS = {
    ("01_sequences_and_hidden_state", 1): ["What we measured", "2.6% to 3.5%", "does gather"],
    ("02_vanishing_gradients", 1): ["no progress at all", "the SimpleRNN did not", "0.158, 0.156 and 0.171"],
    ("03_inside_the_lstm", 1): ["The SimpleRNN was lower on every seed"],
    ("04_the_gru", 1): ["the GRU lower on every seed", "the LSTM still at the", "0.011", "0.153"],
    ("05_deeper_and_both_ways", 1): ["both directions", "stayed at the learned-nothing loss"],
    ("06_forecasting_a_time_series", 1): ["The SimpleRNN was lower on all three seeds", "0.021"],
    ("07_reading_sentiment", 1): ["Totals: 146,561 against 328,353"],
    ("08_predicting_the_next_word", 1): ["The characters won", "0.47, 0.48 and 0.48"],
    ("08_predicting_the_next_word", 2): ["The SimpleRNN ended lower", "1.304"],
    ("09_from_the_dashboard_to_code", 1): ["Totals: 8,769 against 12,705", "8{,}704"],
    ("10_how_long_can_a_cell_remember", 1): ["No, not in 10 epochs", "0.150, 0.161", "neither at $T = 100$"],
}
# A number the reveal states that the lesson may show before the quiz, and why it gives nothing away.
CONTEXT_NUMBERS = {
    ("02_vanishing_gradients", 1): {"0.155": "the learned-nothing loss", "2,000": "the question's data size",
                                    "0.012": "the LSTM's loss in the forget-bias section",
                                    "0.20": "a gradient ratio of the initialisation table"},
    ("03_inside_the_lstm", 1): {"1.386": "the learned-nothing loss"},
    ("06_forecasting_a_time_series", 1): {"0.011": "the SimpleRNN's losses in the baselines' table: one side only",
                                          "0.014": "the same", "0.016": "the same"},
    ("07_reading_sentiment", 1): {"10,000": "the question's vocabulary"},
    ("08_predicting_the_next_word", 1): {"1.32": "the word model's loss, measured above: one side only",
                                         "1.35": "the same"},
    ("09_from_the_dashboard_to_code", 1): {"12,705": "the stacked network's count, the lesson's example: one side"},
}
_NUMBER = re.compile(r"(?<![\d.,])(?:\d+\.\d+|\d{1,3}(?:,\d{3})+)(?![\d])")


def shown_text(blocks) -> str:
    return " ".join(" ".join(block.text.split()) for block in blocks)


@pytest.mark.parametrize("each", all_lessons(), ids=lambda each: each.name)
def test_a_lesson_as_shown_before_an_answer_states_no_quizs_measured_result(each):
    before = shown_text(each.shown())  # what the page draws before any quiz is decided
    for quiz in each.quizzes():
        where = (each.name, quiz.number)
        revealed = shown_text(each.revealed_by(quiz.number))
        assert revealed, f"{where}: what the lesson measured for this quiz belongs in a ```reveal block after it"
        assert where in VERDICTS, f"{where}: add the verdict this quiz's reveal states to VERDICTS"
        for verdict in VERDICTS[where]:
            assert verdict in revealed, (where, verdict)
            assert verdict not in before, (where, verdict)
        allowed = CONTEXT_NUMBERS.get(where, {})
        leaked = set(_NUMBER.findall(revealed)) & set(_NUMBER.findall(before)) - set(allowed)
        assert not leaked, f"{where}: shown before the quiz is decided: {sorted(leaked)}"


def test_the_lessons_page_shows_a_reveal_only_once_its_quiz_is_decided():
    """Through the page itself (AppTest): lesson 1's measured losses are not on the page before an answer; lesson
    7's parameter counts appear only once the learner has predicted and counted."""
    from streamlit.testing.v1 import AppTest

    def page_text(at) -> str:
        return " ".join(element.value for element in (*at.markdown, *at.success, *at.info))

    at = AppTest.from_file(str(ROOT / "pages" / "lessons.py"), default_timeout=90).run()
    assert not at.exception
    assert "Does a hidden state really remember?" in page_text(at)
    assert "0.017, 0.013 and 0.016" not in page_text(at) and "What we measured" not in page_text(at)
    at.sidebar.radio(key="lessons_chosen").set_value("07_reading_sentiment").run()
    key = "lessons_quiz_07_reading_sentiment_1"
    assert "Totals: 146,561 against 328,353" not in page_text(at)
    at.radio(key=key).set_value(at.radio(key=key).options[1]).run()
    assert "Totals: 146,561 against 328,353" not in page_text(at)  # picked, not yet counted
    at.button(key=f"{key}_run").click().run()
    assert not at.exception
    assert "Totals: 146,561 against 328,353" in page_text(at)
