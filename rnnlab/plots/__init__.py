"""Plotly figures, by subject, all on one look (`style.py`): no Streamlit here, so `fig.show()` works in a notebook.

- `runs.py`: loss and accuracy curves, comparisons, predictions, confusion matrices;
- `cell.py`: gates and states over time, one step's parts, saturation, the forget gate over training;
- `gradients.py`: gradient norms through time, per run and in a race;
- `sentiment.py`: a review read word by word;
- `text.py`: text generation: perplexity, the next-token distribution, Elman's map of the hidden state;
- `style.py`: the layout helper and the colour of every quantity.
"""
