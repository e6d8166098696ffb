from resnet_studio.cli import main

raise SystemExit(main())
