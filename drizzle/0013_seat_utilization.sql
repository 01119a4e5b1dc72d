CREATE TYPE "public"."utilization_granularity" AS ENUM('MINUTE', 'HOUR', 'DAY');--> statement-breakpoint
CREATE TABLE "seat_utilization" (
	"org_id" text NOT NULL,
	"license_id" text NOT NULL,
	"granularity" "utilization_granularity" NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"peak_used" integer NOT NULL,
	"max_seats" integer NOT NULL,
	"grants" integer DEFAULT 0 NOT NULL,
	"denials" integer DEFAULT 0 NOT NULL,
	"queued" integer DEFAULT 0 NOT NULL,
	"rolled_up" boolean DEFAULT false NOT NULL,
	CONSTRAINT "seat_utilization_license_id_granularity_at_pk" PRIMARY KEY("license_id","granularity","at")
);
--> statement-breakpoint
ALTER TABLE "seat_utilization" ADD CONSTRAINT "seat_utilization_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "seat_utilization" ADD CONSTRAINT "seat_utilization_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "seat_utilization_org_idx" ON "seat_utilization" USING btree ("org_id","granularity","at");--> statement-breakpoint
CREATE INDEX "seat_utilization_pending_idx" ON "seat_utilization" USING btree ("granularity","license_id","at") WHERE not "seat_utilization"."rolled_up";