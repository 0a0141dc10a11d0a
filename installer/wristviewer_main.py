"""Entry point of the frozen application: the same ``main`` as the ``wristviewer`` script."""

import multiprocessing

from wristviewer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
