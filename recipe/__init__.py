"""GLM-5 deployment recipes: typed profiles, engine specs as data, sizing, compose rendering."""
