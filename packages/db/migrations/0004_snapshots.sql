CREATE TABLE "instance_snapshots" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"instance_id" uuid NOT NULL,
	"sequence" bigint NOT NULL,
	"sealed" "bytea" NOT NULL,
	"size_bytes" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instance_snapshots_instance_sequence_key" UNIQUE("instance_id","sequence")
);
--> statement-breakpoint
ALTER TABLE "instance_snapshots" ADD CONSTRAINT "instance_snapshots_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;