"""RNN Lab's server for a class: starts the training engine, then Streamlit on app.py, in one process.

    .venv/bin/python serve.py --server.address 0.0.0.0 --server.port 8501

Every option `streamlit run` takes passes through. `streamlit run app.py` serves the same app, but Streamlit runs
none of the app's code before the first browser connects, so the training workers would begin to start only then,
with the first learner waiting (issue 19). Here they start with the server: the lab is made (which imports no
TensorFlow and returns at once, the engine's workers starting in the background) before Streamlit starts, and the
app's pages find that same lab (`rnnlab.lab.get_lab`), as they run in this process. The pages' heavy imports are
made on a thread meanwhile and kept out of the garbage collector's walks (`rnnlab.preload`).
"""

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def main(arguments: list[str]) -> int:
    if not {"-h", "--help"} & set(arguments):
        from rnnlab import preload
        from rnnlab.lab import get_lab

        get_lab()  # first: the workers start while this process imports Streamlit (about a second)
        preload.start()  # then the pages' TensorFlow, Keras, Plotly and pandas, frozen out of the collector's walks
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *arguments]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
