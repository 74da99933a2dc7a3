"""What the explorers share: a matplotlib figure shown as an ipywidgets Image.

Each explorer draws into one figure it keeps, renders it to PNG bytes and puts them in an
``ipywidgets.Image``. A PNG is what the saved widget state can carry to the static website,
where no kernel redraws a live figure.
"""

import io


class FigureExplorer:
    """Base class: ``self.widget`` is displayed; ``self.view`` (an Image) shows ``self.fig``."""

    def render(self, dpi=80):
        """Lay out ``self.fig`` and put it, as a PNG, into ``self.view``."""
        self.fig.tight_layout()
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=dpi)
        self.view.value = buf.getvalue()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
