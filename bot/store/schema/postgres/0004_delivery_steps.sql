-- A finished image is delivered in two recorded steps: its file in the thread (file_ref set,
-- and the thread's chain advanced), then the turn's message showing it (delivered). A turn
-- resumed after a restart starts after the last step it recorded.
ALTER TABLE turns ADD COLUMN file_ref TEXT;
