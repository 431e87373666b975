from mlruns_server.cli import main

raise SystemExit(main())
