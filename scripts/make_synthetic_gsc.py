"""`python scripts/make_synthetic_gsc.py`: the installed sparse_pkg.commands.make_synthetic_gsc."""
from sparse_pkg.commands.make_synthetic_gsc import main

if __name__ == "__main__":
    main()
