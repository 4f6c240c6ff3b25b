"""`python scripts/aggregate.py`: runs the installed command sparse_pkg.commands.aggregate."""
from sparse_pkg.commands.aggregate import main

if __name__ == "__main__":
    main()
