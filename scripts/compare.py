"""`python scripts/compare.py`: runs the installed command sparse_pkg.commands.compare."""
from sparse_pkg.commands.compare import main

if __name__ == "__main__":
    main()
