"""`python scripts/evaluate.py`: runs the installed command sparse_pkg.commands.evaluate."""
from sparse_pkg.commands.evaluate import main

if __name__ == "__main__":
    main()
