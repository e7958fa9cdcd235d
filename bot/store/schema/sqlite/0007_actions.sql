-- The buttons under a finished drawing (Redo, Vary, Bigger, Edit, Delete). A turn drawn by a
-- press names the action and the turn it was pressed on (origin); every turn records the
-- response it continued from (drawn_from: what Redo draws from again), its image call and
-- its image's size in pixels. A deleted drawing stays delivered (it was drawn and paid for,
-- and a replica of the previous release still reads it as such), marked by deleted_at.
ALTER TABLE turns ADD COLUMN action TEXT;
ALTER TABLE turns ADD COLUMN origin INTEGER;
ALTER TABLE turns ADD COLUMN drawn_from TEXT;
ALTER TABLE turns ADD COLUMN image_call_id TEXT;
ALTER TABLE turns ADD COLUMN image_size TEXT;
ALTER TABLE turns ADD COLUMN deleted_by TEXT;
ALTER TABLE turns ADD COLUMN deleted_at REAL;
CREATE INDEX turns_by_origin ON turns (origin, action) WHERE origin IS NOT NULL;
