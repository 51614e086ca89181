"""The service catalog: items, their rules, loading from config/catalog/, search and the pinyin IME (pure, no pygame)."""
