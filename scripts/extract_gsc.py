"""`python scripts/extract_gsc.py`: runs the installed command sparse_pkg.commands.extract_gsc."""
from sparse_pkg.commands.extract_gsc import main

if __name__ == "__main__":
    main()
