from leakhunt.cli import run

run()
