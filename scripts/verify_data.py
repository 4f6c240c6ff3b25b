"""`python scripts/verify_data.py`: runs the installed command sparse_pkg.commands.verify_data."""
from sparse_pkg.commands.verify_data import main

if __name__ == "__main__":
    main()
