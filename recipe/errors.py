"""One error tree for the bundle. Library code raises; only `main()` functions map to exit codes.

    BundleError            anything the bundle refuses or cannot do; str() is one line
    +-- UsageError         the user's input is wrong or would lose something: exit 2
    |   +-- RecipeError    an option's value: the option, the value, what is wrong, the fix
    |   +-- StoreError     writing the render would lose a hand edit or a foreign file
    +-- HostError          the host cannot do it (Docker, the hub, the disk): exit `code`
"""

from .escape import shown


class BundleError(Exception):
    """The root: str() is one line that says what is wrong and the fix."""

    code = 1


class UsageError(BundleError):
    """Bad input (an option, a file given to us): exit 2, like Click's own usage errors."""

    code = 2


class RecipeError(UsageError):
    """A refusal the user can act on: the option, the value, what is wrong, and the fix."""

    def __init__(self, option: str, value, problem: str, fix: str):
        self.option, self.value, self.problem, self.fix = option, value, problem, fix
        super().__init__(f"{option} {shown(value)}: {problem}. Fix: {fix}")


class StoreError(UsageError):
    """The render is fine but writing it would lose something (a hand edit, a foreign file)."""


class HostError(BundleError):
    """The host side failed (Docker, the hub, the disk). `code` is the command's exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code
