-- Nothing to undo: the shortened event types cannot be lengthened again (the bodies keep them).
SELECT 1;
