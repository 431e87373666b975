from monitoring.cli import main

raise SystemExit(main())
