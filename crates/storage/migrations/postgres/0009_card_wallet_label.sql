-- The name a card has in the demo wallet: the case it shows (「期限間近」,
-- 「ロック」 …), so that one person's several cards can be told apart. NULL
-- for cards nobody named; the wallet then shows the kind and the holder only.
ALTER TABLE cards ADD COLUMN wallet_label TEXT;
