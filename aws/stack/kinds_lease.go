package stack

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/spotfleet/spotfleet/aws"
)

// The controllers' lease table: one item per fleet (aws.Lease), on demand billing (a few
// reads and writes a second at most).
var leaseTableKind = kind{
	name: "lease-table",
	want: func(s *Stack) []Resource {
		return []Resource{{Name: s.n.LeaseTable(), Fields: map[string]string{"key": "fleet", "billing": string(ddbtypes.BillingModePayPerRequest)}}}
	},
	read: func(ctx context.Context, s *Stack) (map[string]map[string]string, error) {
		name := s.n.LeaseTable()
		out, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		var nf *ddbtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t := out.Table
		tags, err := s.ddb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: t.TableArn})
		if err != nil {
			return nil, err
		}
		if !aws.Tagged(tags.Tags, s.m.Name, func(t ddbtypes.Tag) (*string, *string) { return t.Key, t.Value }) || t.TableStatus == ddbtypes.TableStatusDeleting {
			return nil, nil
		}
		f := map[string]string{"billing": string(ddbtypes.BillingModeProvisioned)}
		if len(t.KeySchema) > 0 {
			f["key"] = awssdk.ToString(t.KeySchema[0].AttributeName)
		}
		if b := t.BillingModeSummary; b != nil {
			f["billing"] = string(b.BillingMode)
		}
		return map[string]map[string]string{name: f}, nil
	},
	create: func(ctx context.Context, s *Stack, r Resource) error {
		_, err := s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: &r.Name, BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: awssdk.String("fleet"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: awssdk.String("fleet"), KeyType: ddbtypes.KeyTypeHash}},
			Tags:                 []ddbtypes.Tag{{Key: awssdk.String(aws.FleetTag), Value: awssdk.String(s.m.Name)}}})
		if err != nil {
			return err
		}
		// The controller needs the table ACTIVE: a few seconds on AWS.
		return dynamodb.NewTableExistsWaiter(s.ddb).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &r.Name}, 2*time.Minute)
	},
	// The billing mode changes in place; the key cannot, and apply does not delete the
	// table to change it (a failure must not leave less than there was).
	update: func(ctx context.Context, s *Stack, r Resource) error {
		out, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &r.Name})
		if err != nil {
			return err
		}
		if ks := out.Table.KeySchema; len(ks) != 1 || awssdk.ToString(ks[0].AttributeName) != r.Fields["key"] {
			return fmt.Errorf("the lease table %s is not keyed by %q: delete it (it holds only the controllers' lease) and apply again", r.Name, r.Fields["key"])
		}
		if b := out.Table.BillingModeSummary; b != nil && b.BillingMode == ddbtypes.BillingModePayPerRequest {
			return nil
		}
		_, err = s.ddb.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: &r.Name, BillingMode: ddbtypes.BillingModePayPerRequest})
		return err
	},
	remove: func(ctx context.Context, s *Stack, name string) error {
		_, err := s.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
		return err
	},
}
