"""`python scripts/report.py`: runs the installed command sparse_pkg.commands.report."""
from sparse_pkg.commands.report import main

if __name__ == "__main__":
    main()
