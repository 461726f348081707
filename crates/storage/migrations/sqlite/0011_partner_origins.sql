-- オンライン診療サービスの戻り先: the origins of the online-care partners an
-- institution lets send patients with a way back (`return=`), normalised
-- (`https://host[:port]`) and separated by one space; empty until the
-- administrator registers some. A return URL of any other origin is not kept.
ALTER TABLE institutions ADD COLUMN partner_origins TEXT NOT NULL DEFAULT '';
