"""Feedback during long steps: progress bars, progress lines and notices.

One :class:`Progress` object serves every long step (building edges, loading a network,
simulating, writing outputs). Where it shows depends on where the user is:

- in a terminal or a Jupyter notebook: a ``tqdm.auto`` bar (a widget when ``ipywidgets`` is
  installed, a text bar in the cell output otherwise);
- on a stderr that is not a terminal (batch jobs, pipes): a progress line every 10 % of the work,
  at most one every :data:`LINE_INTERVAL` seconds, instead of a bar that would fill the file with
  carriage returns;
- always: the same lines at INFO on the ``bmtoolkit.progress`` logger, so a run's ``log.txt``
  records how the work advanced.

``show=False`` (``bmtoolkit run --quiet``, ``run(progress=False)``) silences the bar and the
stderr lines; the log lines stay. :func:`notify` prints a one-line notice before a long step
(compiling NEURON mechanisms) on the same channels.

Examples
--------
>>> with Progress(100, "demo", unit="ms", show=False) as bar:
...     bar.update(40)
...     bar.update(60)
>>> bar.done
100.0
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("bmtoolkit.progress")

#: least number of seconds between two progress lines of one bar (the last line always shows)
LINE_INTERVAL = 2.0

_current: contextvars.ContextVar[_Share | None] = contextvars.ContextVar(
    "bmtoolkit_progress_share", default=None
)


def in_notebook() -> bool:
    """True when running inside a Jupyter kernel (where stderr is not a terminal).

    Examples
    --------
    >>> in_notebook()
    False
    """
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel depends on IPython
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def display_mode(show: bool | None) -> str:
    """``"bar"``, ``"lines"`` or ``"none"`` for the user's ``show`` setting and this process.

    Parameters
    ----------
    show : bool or None
        ``False``: nothing on screen; ``True``: always a bar; ``None``: a bar in a terminal or
        a notebook, progress lines on any other stderr.

    Examples
    --------
    >>> display_mode(False)
    'none'
    """
    if show is False:
        return "none"
    if show is True or in_notebook():
        return "bar"
    stream = sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def _bar_class() -> Any:
    """``tqdm.auto``'s bar: a widget in notebooks that have ``ipywidgets``, text elsewhere.

    Without ``ipywidgets`` the notebook gets tqdm's text bar (redrawn in the cell's output)
    rather than ``tqdm.auto``'s warning about the missing widget library.
    """
    if in_notebook():
        import importlib.util

        if importlib.util.find_spec("ipywidgets") is None:
            from tqdm.std import tqdm as text_bar

            return text_bar
    from tqdm.auto import tqdm

    return tqdm


def notify(message: str, *, show: bool | None = None) -> None:
    """Say ``message`` on stderr (stdout in a notebook) unless ``show`` is False, and log it.

    Examples
    --------
    >>> notify("compiling", show=False)
    """
    log.info("%s", message)
    if show is not False:
        stream = sys.stdout if in_notebook() else sys.stderr  # no red box in notebooks
        print(f"bmtoolkit: {message}", file=stream, flush=True)


def _fmt(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


class Progress:
    """Progress of one step: a bar, periodic lines, or only log lines.

    Parameters
    ----------
    total : float
        Amount of work (ms of simulated time, target nodes, populations ...).
    desc : str
        Name of the step, first word of every line.
    unit : str
        Unit of ``total``.
    show : bool or None
        See :func:`display_mode`.

    Examples
    --------
    >>> p = Progress(10, "load", unit="population", show=False)
    >>> for _ in range(10):
    ...     p.update(1)
    >>> p.close()
    >>> p.done
    10.0
    """

    def __init__(self, total: float, desc: str, *, unit: str = "it", show: bool | None = None):
        self.total = float(total)
        self.desc = desc
        self.unit = unit
        self.done = 0.0
        self.mode = display_mode(show)
        self._t0 = time.perf_counter()
        self._last_line = self._t0
        self._next_tenth = 1
        self._closed = False
        self._bar: Any = None
        if self.mode == "bar":
            tqdm = _bar_class()
            shown = int(self.total) if self.total.is_integer() else round(self.total, 6)
            self._bar = tqdm(total=shown, desc=desc, unit=unit, leave=False)
        self._printed = False
        # on a non-terminal stderr a step says something only once it has lasted a while
        self._line(f"{desc}: started, {_fmt(self.total)} {unit} to do", screen=False)

    def _line(self, text: str, *, screen: bool = True) -> None:
        log.info("%s", text)
        if self.mode == "lines" and screen:
            print(f"bmtoolkit: {text}", file=sys.stderr, flush=True)
            self._printed = True

    def update(self, amount: float) -> None:
        """Add ``amount`` of finished work."""
        if amount <= 0 or self._closed:
            return
        self.done = min(self.done + float(amount), self.total)
        if self._bar is not None:
            self._bar.update(int(amount) if float(amount).is_integer() else round(amount, 6))
        if self.total <= 0:
            return
        tenth = int(10 * self.done / self.total + 1e-9)
        now = time.perf_counter()
        if tenth >= self._next_tenth and tenth < 10 and now - self._last_line >= LINE_INTERVAL:
            elapsed = now - self._t0
            left = elapsed * (self.total - self.done) / self.done
            self._line(
                f"{self.desc}: {100 * self.done / self.total:.0f}% "
                f"({_fmt(round(self.done, 6))}/{_fmt(self.total)} {self.unit}), "
                f"{elapsed:.1f} s elapsed, about {left:.0f} s left"
            )
            self._last_line = now
        if tenth >= self._next_tenth:
            self._next_tenth = tenth + 1

    def stage(self, name: str) -> None:
        """Say which part of the step is running now (bar label and a line)."""
        if self._bar is not None:
            self._bar.set_description(f"{self.desc}: {name}")
        lasted = time.perf_counter() - self._t0 >= LINE_INTERVAL
        self._line(f"{self.desc}: {name} ...", screen=self._printed or lasted)

    def close(self) -> None:
        """Finish the bar and log how long the step took."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elapsed = time.perf_counter() - self._t0
        self._line(
            f"{self.desc}: done {_fmt(round(self.done, 6))} {self.unit} in {elapsed:.1f} s",
            screen=self._printed or elapsed >= LINE_INTERVAL,
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def share(self, amount: float) -> Iterator[None]:
        """Let code inside the block report fractions of ``amount`` with :func:`advance`.

        Whatever part of ``amount`` was not reported is added when the block ends, so slow
        loops (a callable connection rule called for every target) move the bar while they
        run, and fast ones need not report at all.
        """
        part = _Share(self, float(amount))
        token = _current.set(part)
        try:
            yield
        finally:
            _current.reset(token)
        self.update(part.amount - part.reported)


class _Share:
    """A slice of a :class:`Progress` that inner loops report into."""

    def __init__(self, owner: Progress, amount: float) -> None:
        self.owner = owner
        self.amount = amount
        self.reported = 0.0

    def advance(self, done: int, total: int) -> None:
        if total <= 0:
            return
        target = self.amount * min(done, total) / total
        if target > self.reported:
            self.owner.update(target - self.reported)
            self.reported = target


def advance(done: int, total: int) -> None:
    """Report that ``done`` of ``total`` items of the current share are finished.

    Does nothing outside :meth:`Progress.share`, so library code may call it freely.

    Examples
    --------
    >>> advance(1, 10)
    """
    part = _current.get()
    if part is not None:
        part.advance(done, total)
