class RecipeError(Exception):
    """A refusal the user can act on: the option, the value, what is wrong, and the fix.

    str() is one line, so the CLI prints it as is and exits 2.
    """

    def __init__(self, option: str, value, problem: str, fix: str):
        self.option, self.value, self.problem, self.fix = option, value, problem, fix
        super().__init__(f"{option} {value}: {problem}. Fix: {fix}")


class StoreError(Exception):
    """The render is fine but writing it would lose something (a hand edit, a foreign file)."""
