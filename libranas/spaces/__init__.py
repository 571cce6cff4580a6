"""Search spaces: sample, mutate, encode, validate and build architectures.

Spaces register themselves by name (timm-style)::

    >>> from libranas.spaces import list_spaces
    >>> "nb201" in list_spaces()
    True
"""

from libranas.spaces._registry import get_space, list_spaces, register_space
from libranas.spaces.base import SearchSpace
from libranas.spaces.model_space import ArchDict, ModelSpace

__all__ = ["ArchDict", "ModelSpace", "SearchSpace", "get_space", "list_spaces", "register_space"]
