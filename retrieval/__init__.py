"""Letters QA retrieval: hybrid search → extractive answer span → citations → abstention."""
from .assistant import Assistant, QuestionError
from .records import Answer, Citation, Passage
from .search import Filters

__all__ = ["Assistant", "QuestionError", "Answer", "Citation", "Passage", "Filters"]
