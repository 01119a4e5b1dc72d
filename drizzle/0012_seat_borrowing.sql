ALTER TABLE "licenses" ADD COLUMN "max_borrow_days" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "max_borrowed_seats" integer;--> statement-breakpoint
ALTER TABLE "seat_sessions" ADD COLUMN "borrowed_until" timestamp with time zone;