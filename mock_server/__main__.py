from bgmock.server.cli import main

raise SystemExit(main())
