package server_test

import (
	"testing"

	"github.com/fourmi-app/fourmi/federation/server"
	"github.com/fourmi-app/fourmi/federation/server/storetest"
)

func TestMemStoreContract(t *testing.T) {
	storetest.StoreContractTest(t, func(*testing.T) server.Store { return server.NewMemStore() })
}
