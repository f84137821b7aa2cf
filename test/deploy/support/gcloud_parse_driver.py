"""The gcloud parse check's driver: one Google Cloud CLI, created once, executes each command line it is given.

gcloud's own entry point (lib/gcloud.py -> gcloud_main.main) does the same for one command: CreateCLI, then
Execute(argv). Doing it for many commands in one process spares a second of Python start-up per command.
Reads JSON lines {"id", "argv"} on stdin; after each command writes "@@done ID EXIT_CODE" on stderr.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])
import gcloud as _gcloud  # noqa: E402  (the SDK's lib/gcloud.py: sets up its import paths)

cli = _gcloud._import_gcloud_main().CreateCLI([])
for line in sys.stdin:
    job = json.loads(line)
    code = 0
    try:
        cli.Execute(job["argv"])
    except SystemExit as e:  # how gcloud ends a command that failed, argparse's exit 2 included
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:  # noqa: BLE001  a crash past the arguments is an answer too
        code = 1
        sys.stderr.write("crash: %r\n" % (e,))
    sys.stderr.write("\n@@done %s %d\n" % (job["id"], code))
    sys.stderr.flush()
