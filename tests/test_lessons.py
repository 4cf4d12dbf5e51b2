"""Lessons read into blocks (`rnnlab.lessons`): presets, display maths, and predictions decided by the runs."""

import pytest

from rnnlab.config import RunConfig
from rnnlab.lessons import Answer, Quiz, all_lessons, read_lesson
from rnnlab.records import RunRecord


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
