CREATE TABLE "meter_usage" (
	"org_id" text NOT NULL,
	"license_id" text NOT NULL,
	"meter" text NOT NULL,
	"period" text NOT NULL,
	"amount" integer NOT NULL,
	"used" integer NOT NULL,
	"idempotency_key" text NOT NULL,
	"metadata" jsonb,
	"recorded_at" timestamp with time zone NOT NULL,
	CONSTRAINT "meter_usage_license_id_meter_period_idempotency_key_pk" PRIMARY KEY("license_id","meter","period","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "meters" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "meter_usage" ADD CONSTRAINT "meter_usage_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meter_usage" ADD CONSTRAINT "meter_usage_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "meter_usage_license_recorded_idx" ON "meter_usage" USING btree ("license_id","recorded_at");