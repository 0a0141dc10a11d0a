from wristviewer.cli import main

raise SystemExit(main())
