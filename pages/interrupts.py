"""Whether the learner has asked for something while this session's script waits (issue 19's first point).

A live panel waits on the server for its run's first loss point instead of polling for it, so the point is drawn
about 25 ms after the server has it rather than up to a poll later. While a script run waits, Streamlit holds
what the browser asks for until the run reaches its next Streamlit call: `learner_asked` lets the wait end at
once when a click or a change is waiting (Stop, a sidebar setting, another page), but not for the panel's own
timer, which only asks for the panel to be drawn again and is served as soon as the wait ends.

The requests are private to Streamlit (`ScriptRequests._state` and `._rerun_data`, Streamlit 1.67). If an upgrade
renames them, `learner_asked` says True, so every wait ends at once and the panel simply polls at its timer's rate;
tests/test_first_minutes.py fails on the version in requirements.txt if that happens.
"""

from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType


def learner_asked() -> bool:
    """True if this session has a request waiting that is not only a fragment's own timer: a whole-page rerun
    (a click outside the panel, a setting, a new page), a click inside it, a stop, or an explicit rerun."""
    context = get_script_run_ctx()
    requests = getattr(context, "script_requests", None)
    if requests is None:
        return False  # not in a served session (a bare script): nothing can be waiting
    try:
        state, data = requests._state, requests._rerun_data
    except AttributeError:  # a Streamlit this module does not know: never hold a request (see the docstring)
        return True
    if state == ScriptRequestType.CONTINUE:
        return False
    if state != ScriptRequestType.RERUN or not data.fragment_id_queue or data.is_fragment_scoped_rerun:
        return True  # stopping, a whole-page rerun, or st.rerun(scope="fragment")
    if not data.is_auto_rerun:
        return True  # a widget of a fragment
    # A timer's request can fold a click that came just before it into itself; a pressed button stays set.
    states = data.widget_states.widgets if data.widget_states is not None else []
    return any(widget.WhichOneof("value") == "trigger_value" and widget.trigger_value for widget in states)


def in_fragment_rerun() -> bool:
    """True while only a fragment reruns (its timer, or a widget in it), not the whole page."""
    context = get_script_run_ctx()
    return bool(context is not None and context.fragment_ids_this_run)
