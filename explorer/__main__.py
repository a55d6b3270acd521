"""``python -m explorer``: the ``pipedrive-explorer`` command (the demo sandbox child runs
``python -m explorer sandbox …``)."""

from explorer.app import main

raise SystemExit(main())
