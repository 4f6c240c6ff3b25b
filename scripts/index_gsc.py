"""`python scripts/index_gsc.py`: runs the installed command sparse_pkg.commands.index_gsc."""
from sparse_pkg.commands.index_gsc import main

if __name__ == "__main__":
    main()
